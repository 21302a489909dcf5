"""Erasure of a leaver: their address and names replaced everywhere the data map says they
may be by one pseudonym — "a former named contact of Health (3f2a9c1b)" where they are named
or did something, an address under `erased.example.org` where mail went to them (reserved by
RFC 2606: nothing is delivered there, and old directory versions holding it still read) —
what goes with them in their own rows (a phone, a network address, a browser) removed, the
bodies of the digests sent to them removed, and nothing else changed: every count, date,
stage change and event stays.

Only the person is erased. A name is theirs alone unless it is a post's title: one held by
someone in the directory in force, given to anyone else by any directory version (a
successor also named "Designated Nurse"), or an agency's name or alias; such a name is left
wherever it is written, so that neither a namesake nor a post is erased with them. The words
of the partnership's documents as imported (an action's text and progress, `Held.documents`)
are left as the document and its kept original have them: there "the designated nurse" names
a post, and a plan imported again unchanged must change nothing. The text of a version in
force is never rewritten (its reason is).

Once committed (`afterwards`): SQLite's write-ahead log is checkpointed and truncated, as
the rows as they were stay in it until then, and the outbox's messages to them are
removed. Import originals and backups follow their own periods (the operator's guide).

The pseudonym's tag is random, so it cannot be worked back to the address. Someone in the
directory in force (covering someone included) is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from worker.config.versions import Author, newest_ids
from worker.directory.entries import Directory
from worker.models import Base, ConsoleAction, Delivery, DeliveryState
from worker.privacy.classes import TABLES, Held
from worker.privacy.people import (
    Person,
    candidates,
    concerns,
    in_force,
    person,
    theirs,
    titles,
)

ERASED = "erased: the person left and their data was erased"
HEADERS = BytesHeaderParser(policy=policy.compat32)


class StillInDirectoryError(Exception):
    """The person holds a role in the directory in force."""


@dataclass(frozen=True)
class Pseudonym:
    name: str
    address: str

    @classmethod
    def of(cls, was: str) -> Pseudonym:
        tag = secrets.token_hex(4)
        return cls(f"{was} ({tag})", f"erased.{tag}@erased.example.org")


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the pseudonym, rows changed per table, names left to namesakes."""

    pseudonym: Pseudonym
    changed: dict[str, int]
    kept_names: frozenset[str]


def erase(session: Session, email: str, directory: Directory, author: Author, now: datetime
          ) -> Erasure:  # fmt: skip
    """The leaver `email` pseudonymised in every table, in `session` (the caller commits).
    The erasure itself is kept in the console's record, by pseudonym."""
    addresses, names = in_force(directory)
    found = person(session, email)
    if found.email in addresses:
        raise StillInDirectoryError(f"{found.email} is in the directory in force: hand their "
                                    "roles over first (directory replace)")  # fmt: skip
    shared = frozenset(n for n in found.names if n.lower() in names | titles(session, found))
    who = replace(found, names=found.names - shared)
    pseudonym = Pseudonym.of(who.was)
    release(session, who)
    skipped = set(newest_ids(session).values())  # the versions in force
    changed = {name: n for name in TABLES if (n := rewrite(session, name, who, pseudonym,
                                                            skipped))}  # fmt: skip
    session.add(ConsoleAction(at=now, email=author.by, action="erasure", client=author.client,
                              subject=f"{pseudonym.name}: {author.reason}"[:400]))  # fmt: skip
    return Erasure(pseudonym, changed, shared)


def release(session: Session, who: Person) -> None:
    """The digests to them: bodies removed; those never sent failed for good."""
    mine = func.lower(Delivery.recipient) == who.email
    unsent = Delivery.state != DeliveryState.SENT
    session.execute(update(Delivery).where(mine).values(payload={})
                    .execution_options(synchronize_session=False))  # fmt: skip
    session.execute(update(Delivery).where(mine, unsent)
                    .values(state=DeliveryState.FAILED, last_error=ERASED, lease_until=None)
                    .execution_options(synchronize_session=False))  # fmt: skip


def rewrite(session: Session, name: str, who: Person, pseudonym: Pseudonym,
            skipped: set[int]) -> int:  # fmt: skip
    """Every row of the table concerning `who`, with the pseudonym in their place; how many
    rows changed."""
    table, held = Base.metadata.tables[name], TABLES[name]
    query = select(table).where(candidates(table, held, who))
    rows = [r for r in session.execute(query).mappings() if concerns(r, held, who)]
    changed = 0
    for row in rows:
        values = instead(row, held, who, pseudonym)
        if name == "config_versions" and row["id"] in skipped:
            values.pop("content", None)  # a version in force is read as it was saved
        if any(row[c] != v for c, v in values.items()):
            session.execute(update(table).where(table.c["id"] == row["id"]).values(**values))
            changed += 1
    return changed


def instead(row: Mapping[Any, Any], held: Held, who: Person, pseudonym: Pseudonym
            ) -> dict[str, Any]:  # fmt: skip
    """The row's values with the pseudonym in place of `who` (the words of a document left)."""
    values: dict[str, Any] = {c: pseudonym.address for c in held.addresses
                              if who.is_address(row[c])}  # fmt: skip
    values |= {c: pseudonym.name for c in held.actors if who.is_address(row[c])}
    values |= {c: pseudonym.name for c in held.names if who.is_name(row[c])}
    values |= {c: None for c in held.also if theirs(row, held, who)}
    values |= {c: replaced(row[c], who, pseudonym) for c in held.mentions
               if row[c] and c not in held.documents}  # fmt: skip
    return values


def replaced(value: Any, who: Person, pseudonym: Pseudonym) -> Any:
    """`value` (text, or a JSON document) with their address and names replaced."""
    if isinstance(value, dict):
        return {k: replaced(v, who, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v, who, pseudonym) for v in value]
    if not isinstance(value, str):
        return value
    words = who.words()
    return words.sub(lambda m: pseudonym.address if "@" in m.group() else pseudonym.name, value)


@dataclass(frozen=True)
class Afterwards:
    """What `afterwards` did: whether the log was emptied, the outbox's files removed."""

    checkpointed: bool
    removed: list[Path]


def afterwards(session: Session, email: str, outbox: Path) -> Afterwards:
    """Once the erasure is committed: SQLite's write-ahead log checkpointed and truncated
    (False when a reader kept it from finishing: run the command again), and the messages
    the outbox holds to or copied to `email` removed."""
    done = True
    if session.get_bind().dialect.name == "sqlite":
        busy, _, _ = session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        done = busy == 0
    removed = messages_to(outbox, email)
    for path in removed:
        path.unlink(missing_ok=True)
    return Afterwards(done, removed)


def messages_to(outbox: Path, email: str) -> list[Path]:
    """The outbox's .eml files whose To or Cc is `email`."""
    address = email.strip().lower()
    found = []
    for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
        with path.open("rb") as file:
            headers = HEADERS.parse(file)
        told = getaddresses([str(v) for v in headers.get_all("To", []) + headers.get_all("Cc", [])])
        if address in {a.lower() for _, a in told}:
            found.append(path)
    return found
