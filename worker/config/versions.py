"""Versions of the directory and of the escalation rules, kept in the database.

Each version holds the whole YAML text as it was given (so that exporting it gives back its
comments), who made it, when, why and from where. The newest of each kind is in force: the
worker, beat and web server read it through `worker.config.in_force.Versions` at their next tick or
request. A version is checked before it is saved, exactly as `reminders config check` checks
the files, and with the other part in force: a directory that drops a group the rules tell,
or rules that name a group the directory lacks, is refused. Nothing refused is ever saved.
Going back to an earlier version saves its text as a new version.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from difflib import unified_diff
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.db import one_at_a_time
from worker.directory.entries import Directory, directory_from
from worker.models import ConfigVersion
from worker.rules.ladder import Rules, rules_from
from worker.rules.warnings import rule_warnings
from worker.yaml_files import ConfigError, parse_yaml

DIRECTORY, RULES = "directory", "rules"
KINDS = (DIRECTORY, RULES)
FILES = {DIRECTORY: "directory.yaml", RULES: "escalation.yaml"}
WHAT = {DIRECTORY: "the partnership's directory", RULES: "the escalation rules"}
COMMAND_LINE = "command line"
LOCK_KEY = 7_216_001  # the advisory lock that makes saves of versions wait for each other


class SavedHere:
    """How many versions this process has saved (counted once committed): its own
    configurations look again at once, without waiting for their next check."""

    count = 0

    @classmethod
    def one_more(cls, _session: Session) -> None:
        cls.count += 1


@dataclass(frozen=True)
class Author:
    """Who makes a version, why, and from where ("command line", or a client address)."""

    by: str
    reason: str
    client: str = COMMAND_LINE


def origin(kind: str, number: int | str) -> Path:
    """How a stored version is named in error messages: "rules version 3"."""
    return Path(f"{kind} version {number}")


def parse_directory(text: str, where: Path) -> Directory:
    return directory_from(where, parse_yaml(text, where, empty=WHAT[DIRECTORY]))


def parse_rules(text: str, where: Path, groups: Collection[str] | None) -> Rules:
    return rules_from(where, parse_yaml(text, where, empty=WHAT[RULES]), groups)


def newest(session: Session, kind: str) -> ConfigVersion | None:
    query = select(ConfigVersion).where(ConfigVersion.kind == kind)
    return session.scalar(query.order_by(ConfigVersion.number.desc()).limit(1))


def history(session: Session, kind: str) -> list[ConfigVersion]:
    """Every version of `kind`, newest first."""
    query = select(ConfigVersion).where(ConfigVersion.kind == kind)
    return list(session.scalars(query.order_by(ConfigVersion.number.desc())))


def numbered(session: Session, kind: str, number: int) -> ConfigVersion | None:
    query = select(ConfigVersion).where(ConfigVersion.kind == kind, ConfigVersion.number == number)
    return session.scalar(query)


def newest_ids(session: Session) -> dict[str, int]:
    """The id of the newest version of each kind that has one (one small query)."""
    query = select(ConfigVersion.kind, func.max(ConfigVersion.id)).group_by(ConfigVersion.kind)
    return {kind: int(id_) for kind, id_ in session.execute(query)}


def text_in_force(session: Session, kind: str, folder: Path) -> tuple[str, Path]:
    """The text of `kind` in force and where it came from: its newest version, or the file
    in `folder` while it has none."""
    row = newest(session, kind)
    if row is not None:
        return row.content, origin(kind, row.number)
    path = folder / FILES[kind]
    try:
        return path.read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read the file: {exc}"]) from None


def check(session: Session, kind: str, text: str, where: Path, folder: Path) -> None:
    """ConfigError with every problem if `text` may not be in force beside the other part in
    force (`text_in_force`)."""
    other, other_origin = text_in_force(session, RULES if kind == DIRECTORY else DIRECTORY, folder)
    if kind == RULES:
        parse_rules(text, where, parse_directory(other, other_origin).groups)
        return
    proposed = parse_directory(text, where)
    try:
        parse_rules(other, other_origin, proposed.groups)
    except ConfigError as exc:
        problems = [f"the rules in force would no longer hold: {p}" for p in exc.problems]
        raise ConfigError(where, problems) from None


def save(session: Session, kind: str, text: str, author: Author, folder: Path,
         after: int | None = None) -> ConfigVersion:  # fmt: skip
    """Check `text` (see `check`) and save it as the next version of `kind`, in force from
    the next tick or request. ConfigError, and nothing saved, if it fails, or if `after` is
    given and another version has been saved since that one (a form opened on it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of configuration {kind!r}")
    one_at_a_time(session, LOCK_KEY, ConfigVersion)
    last = newest(session, kind)
    number = last.number + 1 if last else 1
    if after is not None and last is not None and last.number != after:
        said = (f"version {last.number} was saved by {last.made_by} after version {after}, "
                "which this was made from: look at it, then make the change again")  # fmt: skip
        raise ConfigError(origin(kind, number), [said])
    if not author.by.strip() or not author.reason.strip():
        raise ConfigError(origin(kind, number), ["say who makes it and why"])
    check(session, kind, text, origin(kind, number), folder)
    row = ConfigVersion(kind=kind, number=number, content=text, made_by=author.by.strip(),
                        reason=author.reason.strip(), client=author.client)  # fmt: skip
    session.add(row)
    event.listen(session, "after_commit", SavedHere.one_more, once=True)
    try:
        session.flush()
    except IntegrityError:
        problem = "another version was saved at the same moment: nothing saved, try again"
        raise ConfigError(origin(kind, number), [problem]) from None
    return row


def difference(old: str, new: str) -> list[tuple[str, str]]:
    """The lines that differ between two texts, with two of context: ("removed" | "added" |
    "same" | "gap", line)."""
    marks = {"-": "removed", "+": "added", " ": "same"}
    found = []
    for line in unified_diff(old.splitlines(), new.splitlines(), n=2, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        found.append(("gap", gap(line)) if line.startswith("@@") else (marks[line[0]], line[1:]))
    return found


def gap(hunk: str) -> str:
    """ "@@ -96,2 +96,4 @@" as a reader says it: "from line 96 (96 before)"."""
    old, new = (part.split(",")[0].lstrip("-+") for part in hunk.split()[1:3])
    return f"from line {new}" + ("" if old == new else f" ({old} before)")


def warnings_in_force(session: Session, folder: Path) -> list[str]:
    """What may be a mistake in the rules and directory in force (worker/rules/warnings.py);
    after a save, in the same transaction, what that version brought."""
    directory_text, directory_origin = text_in_force(session, DIRECTORY, folder)
    directory = parse_directory(directory_text, directory_origin)
    rules_text, rules_origin = text_in_force(session, RULES, folder)
    return rule_warnings(parse_rules(rules_text, rules_origin, directory.groups), directory)


def roll_back(session: Session, kind: str, number: int, author: Author, folder: Path
              ) -> ConfigVersion:  # fmt: skip
    """Version `number`'s text saved again as the newest version (checked as any other)."""
    old = numbered(session, kind, number)
    if old is None:
        raise ConfigError(origin(kind, number), ["there is no such version"])
    if not author.reason.strip():
        raise ConfigError(origin(kind, number), ["say who makes it and why"])
    reason = f"back to version {number}: {author.reason.strip()}"
    return save(session, kind, old.content, Author(author.by, reason, author.client), folder)


def first_versions(session: Session, folder: Path, by: str) -> list[ConfigVersion]:
    """Each part that has no version yet gets its file in `folder` as version 1; the
    directory first, so that the rules are checked against it."""
    made = []
    for kind in KINDS:
        if newest(session, kind) is None:
            text, _ = text_in_force(session, kind, folder)
            author = Author(by, f"loaded from the file {FILES[kind]}")
            made.append(save(session, kind, text, author, folder))
    return made
