"""The directory's forms: one entry added or changed at a time (an alias of an agency, the
person in a role of an agency, an LA contact, an establishment), turned into the next
directory text by the round-trip edits (worker/directory/edits.py, comments and order kept)
and checked exactly as any other version (worker/config/versions.py). Every problem is
placed beside the form field it is about: the edit names its field, and a message from the
check about the entry the form changed (`la_contacts[2].email: …`) goes to that field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from worker.config.versions import DIRECTORY, check, origin, text_in_force
from worker.directory import edits
from worker.directory.edits import Edited, FieldError
from worker.yaml_files import ConfigError

Values = Mapping[str, Sequence[str]]  # every value of every field, as the browser sent them


def one(values: Values, name: str) -> str:
    found = values.get(name) or [""]
    return found[0].strip()


@dataclass(frozen=True)
class EntryForm:
    """One of the directory's forms."""

    slug: str  # its address: /console/directory/forms/<slug>
    title: str
    fields: tuple[str, ...]  # in the order shown; the first is where a general problem goes
    edit: Callable[[str, Values], Edited]
    says: Callable[[Values], str]  # what it does, for the version's reason and the record
    whole: str = ""  # a check's message about the entry itself goes to this field


def alias(text: str, v: Values) -> Edited:
    return edits.add_alias(text, one(v, "agency"), one(v, "alias"))


def role(text: str, v: Values) -> Edited:
    return edits.set_contact(text, one(v, "agency"), one(v, "role"), one(v, "name"),
                             one(v, "email"))  # fmt: skip


def la_contact(text: str, v: Values) -> Edited:
    return edits.add_la_contact(text, one(v, "name"), one(v, "email"), one(v, "phone"),
                                one(v, "agency"))  # fmt: skip


def establishment(text: str, v: Values) -> Edited:
    groups = tuple(g.strip() for g in v.get("groups", []) if g.strip())
    return edits.add_establishment(text, one(v, "name"), one(v, "email"), one(v, "contact"),
                                   groups)  # fmt: skip


FORMS = {
    form.slug: form
    for form in (
        EntryForm("alias", "Add a name for an agency", ("agency", "alias"), alias,
                  lambda v: f"{one(v, 'alias')!r} added as a name of {one(v, 'agency')}",
                  whole="alias"),
        EntryForm("role", "Someone in a role of an agency", ("agency", "role", "name", "email"),
                  role, lambda v: f"{one(v, 'email')} as {one(v, 'role').replace('_', ' ')} "
                  f"of {one(v, 'agency')}", whole="email"),
        EntryForm("la-contact", "Add an LA contact", ("name", "email", "phone", "agency"),
                  la_contact, lambda v: f"LA contact {one(v, 'name')} <{one(v, 'email')}> "
                  "added", whole="name"),
        EntryForm("establishment", "Add an establishment",
                  ("name", "email", "contact", "groups"), establishment,
                  lambda v: f"establishment {one(v, 'name')} <{one(v, 'email')}> added",
                  whole="name"),
    )
}  # fmt: skip


@dataclass
class Proposed:
    """The directory text a form would save, or why it may not."""

    text: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.errors or self.general)


def propose(session: Session, form: EntryForm, values: Values, folder: Path,
            number: int) -> Proposed:  # fmt: skip
    """The form applied to the directory in force and checked as version `number` would be."""
    text_now, _ = text_in_force(session, DIRECTORY, folder)
    try:
        text, path = form.edit(text_now, values)
    except FieldError as exc:
        return Proposed(errors={exc.field: [exc.message]})
    except ValueError as exc:
        return Proposed(general=[str(exc)])
    try:
        check(session, DIRECTORY, text, origin(DIRECTORY, number), folder)
    except ConfigError as exc:
        errors, general = placed(exc.problems, path, form, values)
        return Proposed(errors=errors, general=general)
    return Proposed(text)


def placed(problems: Sequence[str], path: str, form: EntryForm, values: Values
           ) -> tuple[dict[str, list[str]], list[str]]:  # fmt: skip
    """Each message about the entry at `path` by the form field it names, or about a value
    typed in a field ("alias 'KA' also names Health", said of the other agency) by that
    field; the others apart."""
    errors: dict[str, list[str]] = {}
    general = []
    for message in (m for problem in problems for m in split(problem)):
        where, _, words = message.partition(": ")
        name = field_of(where, path, form) or naming(message, form, values)
        if name is None:
            general.append(message)
        else:
            errors.setdefault(name, []).append(words)
    return errors, general


def split(problem: str) -> list[str]:
    """The directory's cross-checks come as one message, "(top level): Value error, a; b"."""
    head = "(top level): Value error, "
    return problem.removeprefix(head).split("; ") if problem.startswith(head) else [problem]


def field_of(where: str, path: str, form: EntryForm) -> str | None:
    """`la_contacts[2].email` is about the field `email` of the form that made
    `la_contacts[2]`; `agencies[3]` about the entry as a whole (`form.whole`)."""
    if where == path:
        return form.whole or None
    if not where.startswith(path + "."):
        return None
    name = where[len(path) + 1 :].split("[")[0].split(".")[0]
    return name if name in form.fields else form.whole or None


def naming(message: str, form: EntryForm, values: Values) -> str | None:
    """The field whose typed value the message quotes, if one does."""
    quoted = (name for name in form.fields if one(values, name) and repr(one(values, name))
              in message)  # fmt: skip
    return next(quoted, None)
