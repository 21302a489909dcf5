"""Changes to the directory made for people, each a new directory version checked as any
other: cover while someone is away, a hand-over when someone leaves, a corrected address.

A hand-over also ends the leaver's console sessions and sign-in links; a corrected address
also releases the digests held for the old one (`directory.undeliverable.correct`).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from worker.config.versions import DIRECTORY, Author, origin, parse_directory, save, text_in_force
from worker.directory.edits import add_cover, replace_person
from worker.directory.recipients import Person
from worker.directory.undeliverable import Released, correct
from worker.models import ConfigVersion
from worker.signin.sessions import end_all
from worker.yaml_files import ConfigError

EMAIL = TypeAdapter(EmailStr)


def cover(session: Session, away: str, delegate: Person, starts: date, ends: date,
          author: Author, folder: Path) -> ConfigVersion:  # fmt: skip
    """`delegate` covers for `away` from `starts` to `ends`: a new directory version, checked
    as any other (the person must be in it, the dates in order)."""
    text, _ = text_in_force(session, DIRECTORY, folder)
    try:
        changed = add_cover(text, away, delegate.email, delegate.name, starts, ends)
    except ValueError as exc:
        raise ConfigError(origin(DIRECTORY, "in force"), [str(exc)]) from None
    why = f"{delegate.email} covers for {away} from {starts} to {ends}: {author.reason.strip()}"
    return save(session, DIRECTORY, changed, Author(author.by, why, author.client), folder)


def hand_over(session: Session, leaving: str, successor: str, name: str, author: Author,
              folder: Path, now: datetime, same_person: bool = False) -> ConfigVersion:  # fmt: skip
    """Someone leaves: every role `leaving` holds goes to `successor` (called `name`) in one
    new directory version, checked as any other; the console sessions and unused sign-in
    links of `leaving` end. Their items, digests and feeds follow the directory, so they go
    to the successor; the versions keep who held the role when. `same_person`: not a
    successor but the same person at a corrected address (their cover follows them)."""
    text, _ = text_in_force(session, DIRECTORY, folder)
    try:
        changed, count = replace_person(text, leaving, successor, name, same_person)
    except ValueError as exc:
        raise ConfigError(origin(DIRECTORY, "in force"), [str(exc)]) from None
    if count == 0:
        raise ConfigError(origin(DIRECTORY, "in force"), [f"{leaving} holds no role in it"])
    why = f"{leaving} replaced by {successor}: {author.reason.strip()}"
    row = save(session, DIRECTORY, changed, Author(author.by, why, author.client), folder)
    end_all(session, leaving, now, f"replaced in the directory by {successor}")
    return row


def correct_address(session: Session, address: str, to: str, author: Author, folder: Path,
                    now: datetime) -> tuple[ConfigVersion | None, Released]:  # fmt: skip
    """The address corrected everywhere: in the directory (a new version, when it is there
    and the address changes) and in the ledger (`correct`). ConfigError, nothing changed,
    if the directory with the new address fails its checks."""
    made = None
    to = checked_address(to)
    if to != address.strip().lower() and in_directory(session, address, folder):
        made = hand_over(session, address, to, "", author, folder, now, same_person=True)
    return made, correct(session, address, to, author.by, now)


def in_directory(session: Session, address: str, folder: Path) -> bool:
    text, where = text_in_force(session, DIRECTORY, folder)
    return address.strip().lower() in parse_directory(text, where).addresses()


def checked_address(address: str) -> str:
    """`address` as the ledger keeps it (lower case); ConfigError if it is not one."""
    try:
        return str(EMAIL.validate_python(address.strip())).lower()
    except ValidationError:
        raise ConfigError(Path("corrected"), [f"{address!r} is not an e-mail address"]) from None
