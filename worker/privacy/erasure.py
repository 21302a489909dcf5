"""Erasure of a leaver: their address and names replaced everywhere the data map says they
may be by one pseudonym — "a former named contact of Health (3f2a9c1b)" where they are named
or did something, an address under `erased.example.org` where mail went to them (reserved by
RFC 2606: nothing is delivered there, and old directory versions holding it still read) —
what goes with them in their own rows (a phone, a network address, a browser) removed, the
bodies of the digests sent to them removed, and nothing else changed: every count, date,
stage change and event stays. Kept files (import originals, the outbox, backups) are not
touched: the operator's guide says how long each is kept.

The pseudonym's tag is random, so it cannot be worked back to the address. Someone in the
directory in force (covering someone included) is refused; a name also held by someone in it
is left, so that a namesake is never erased with them. The text of a version in force is
never rewritten (its reason is).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.config.versions import Author, newest_ids
from worker.directory.entries import Directory
from worker.models import Base, ConsoleAction, Delivery, DeliveryState
from worker.privacy.classes import TABLES
from worker.privacy.people import Person, candidates, concerns, in_force, person, theirs

ERASED = "erased: the person left and their data was erased"


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
    shared = frozenset(n for n in found.names if n.lower() in names)
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
    """Every row of the table concerning `who`, with the pseudonym in their place."""
    table, held = Base.metadata.tables[name], TABLES[name]
    query = select(table).where(candidates(table, held, who))
    rows = [r for r in session.execute(query).mappings() if concerns(r, held, who)]
    for row in rows:
        values: dict[str, str | None] = {
            c: pseudonym.address for c in held.addresses if who.is_address(row[c])
        }
        values |= {c: pseudonym.name for c in held.actors if who.is_address(row[c])}
        values |= {c: pseudonym.name for c in held.names if who.is_name(row[c])}
        values |= {c: None for c in held.also if theirs(row, held, who)}
        values |= {c: replaced(row[c], who, pseudonym) for c in held.mentions if row[c]}
        if name == "config_versions" and row["id"] in skipped:
            values.pop("content", None)  # a version in force is read as it was saved
        session.execute(update(table).where(table.c["id"] == row["id"]).values(**values))
    return len(rows)


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
