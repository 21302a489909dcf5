"""Changes to the directory's YAML text that keep everything else as written: its comments,
its order, its flow-style lines. ruamel.yaml reads and writes it round trip.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from worker.directory.names import fold
from worker.yaml_files import round_trip


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from mappings(value)


def replace_person(text: str, leaving: str, email: str, name: str, same_person: bool = False
                   ) -> tuple[str, int]:  # fmt: skip
    """`text` with every entry for the address `leaving` (a contact by role, the business
    manager, the chair, an LA contact, a school's DSL, a delegate) given to `email` and
    `name`; and how many entries changed. Cover for `leaving` follows the new address when
    it is `same_person` (an address corrected) and ends otherwise (someone left: their
    successor is not away). ValueError if `text` is not YAML."""
    yaml = round_trip()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ValueError(f"the directory in force is not readable YAML: {exc}") from None
    old, changed = leaving.strip().lower(), 0
    for entry in mappings(document):
        if str(entry.get("email", "")).strip().lower() == old:
            entry["email"] = email.strip()
            if "name" in entry and name.strip():
                entry["name"] = name.strip()
            changed += 1
    cover: list[Any] = document.get("cover") or [] if isinstance(document, dict) else []
    for entry in list(cover):
        if str(entry.get("person", "")).strip().lower() == old:
            if same_person:
                entry["person"] = email.strip()
            else:
                cover.remove(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), changed


def add_cover(text: str, person: str, delegate: str, name: str, starts: date, ends: date) -> str:
    """`text` with a cover entry: `delegate` (called `name`) covers for `person` from `starts`
    to `ends`. ValueError if `text` is not YAML."""
    yaml = round_trip()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ValueError(f"the directory in force is not readable YAML: {exc}") from None
    entry = CommentedMap(person=person.strip(), delegate=CommentedMap(name=name.strip(),
                         email=delegate.strip()))  # fmt: skip
    entry["from"], entry["to"] = starts, ends
    document.setdefault("cover", CommentedSeq()).append(entry)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


# One entry added or changed by a console form. Each edit refuses what it cannot place (an
# agency the directory has not, a field left empty) with `FieldError`, naming the form's field;
# everything else goes in as typed, for the one check of the directory to refuse.

AGENCY_ROLES = ("named_contact", "line_manager", "senior_safeguarding_lead")


class FieldError(ValueError):
    """A form's value the directory cannot take, and the field of the form it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


Edited = tuple[str, str]  # the new text, and the key path of the entry the form changed


def loaded(text: str) -> Any:
    try:
        document = round_trip().load(text)
    except YAMLError as exc:
        raise ValueError(f"the directory in force is not readable YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("the directory in force is not a set of 'key: value' lines")
    return document


def dumped(document: Any) -> str:
    out = io.StringIO()
    round_trip().dump(document, out)
    return out.getvalue()


def filled(field: str, value: str) -> str:
    if not value.strip():
        raise FieldError(field, "fill this in")
    return value.strip()


def agency_at(document: Any, name: str) -> tuple[int, Any]:
    """The agency called `name` (as the directory spells it), and its index."""
    for index, agency in enumerate(document.get("agencies") or []):
        if isinstance(agency, dict) and str(agency.get("name", "")).strip() == name.strip():
            return index, agency
    raise FieldError("agency", f"the directory has no agency called {name.strip()!r}")


def flow_map(**values: Any) -> CommentedMap:
    """An entry on one line, {name: …, email: …}, as the shipped file writes them."""
    entry = CommentedMap({k: v for k, v in values.items() if v not in (None, "", [])})
    entry.fa.set_flow_style()
    return entry


def appended(document: Any, key: str, entry: CommentedMap) -> str:
    """`entry` at the end of the list `key` (made if missing); its key path."""
    listed = document.get(key)
    if not isinstance(listed, list):
        listed = document[key] = CommentedSeq()
    listed.append(entry)
    return f"{key}[{len(listed) - 1}]"


def add_alias(text: str, agency: str, alias: str) -> Edited:
    """`alias` (a name documents give the agency) added to the agency called `agency`."""
    alias = filled("alias", alias)
    document = loaded(text)
    index, entry = agency_at(document, filled("agency", agency))
    aliases = entry.get("aliases")
    if not isinstance(aliases, list):
        aliases = entry["aliases"] = CommentedSeq()
        aliases.fa.set_flow_style()
    if alias.casefold() in {str(a).casefold() for a in aliases}:
        raise FieldError("alias", f"{alias!r} is already an alias of {agency.strip()}")
    for other in document.get("agencies") or []:
        names = [other.get("name", ""), *(other.get("aliases") or [])]
        if other is not entry and fold(alias) in {fold(str(n)) for n in names}:
            raise FieldError("alias", f"{alias!r} already names {other.get('name')}")
    aliases.append(alias)
    return dumped(document), f"agencies[{index}]"


def set_contact(text: str, agency: str, role: str, name: str, email: str) -> Edited:
    """The person in `role` of `agency`: the one there now replaced (whom they report to
    kept), or the role filled when nobody holds it."""
    if role not in AGENCY_ROLES:
        raise FieldError("role", f"choose one of {', '.join(AGENCY_ROLES)}")
    name, email = filled("name", name), filled("email", email)
    document = loaded(text)
    index, entry = agency_at(document, filled("agency", agency))
    contacts = entry.get("contacts")
    if not isinstance(contacts, list):
        contacts = entry["contacts"] = CommentedSeq()
    for place, contact in enumerate(contacts):
        if isinstance(contact, dict) and contact.get("role") == role:
            contact["name"], contact["email"] = name, email
            contact.pop("phone", None)  # the one who held the role had it
            return dumped(document), f"agencies[{index}].contacts[{place}]"
    contacts.append(flow_map(role=role, name=name, email=email))
    return dumped(document), f"agencies[{index}].contacts[{len(contacts) - 1}]"


def add_la_contact(text: str, name: str, email: str, phone: str = "", agency: str = ""
                   ) -> Edited:  # fmt: skip
    """A local-authority officer whom MI sheets name as their LA contact."""
    entry = flow_map(name=filled("name", name), email=filled("email", email),
                     phone=phone.strip(), agency=agency.strip())  # fmt: skip
    document = loaded(text)
    if agency.strip():
        agency_at(document, agency)
    path = appended(document, "la_contacts", entry)
    return dumped(document), path


def add_establishment(text: str, name: str, email: str, contact: str = "",
                      groups: tuple[str, ...] = ()) -> Edited:  # fmt: skip
    """A school or other establishment, its DSL's address, and the groups it is in."""
    wanted = CommentedSeq(g.strip() for g in groups if g.strip())
    wanted.fa.set_flow_style()
    entry = flow_map(name=filled("name", name), email=filled("email", email),
                     contact=contact.strip(), groups=wanted)  # fmt: skip
    document = loaded(text)
    path = appended(document, "establishments", entry)
    return dumped(document), path
