"""Erasure of a leaver: their address and names replaced everywhere the data map says they
may be by one pseudonym — "a former named contact of Health (3f2a9c1b)" where they are named
or did something, an address under `erased.example.org` where mail went to them (reserved by
RFC 2606: nothing is delivered there, and old directory versions holding it still read) —
the bodies of the digests sent to them removed, and nothing else changed: every count, date,
stage change and event stays.

The pseudonym's tag is random, so it cannot be worked back to the address. Someone still in
the directory in force is refused: their roles are handed over first (`directory replace`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.config.versions import DIRECTORY, Author, history, origin, parse_directory
from worker.directory.entries import Directory
from worker.models import Base, ConsoleAction, Delivery
from worker.privacy.classes import TABLES
from worker.privacy.subject_access import Person, finds, person
from worker.yaml_files import ConfigError


class StillInDirectoryError(Exception):
    """The person holds a role in the directory in force."""


@dataclass(frozen=True)
class Pseudonym:
    name: str
    address: str

    @classmethod
    def of(cls, described: str) -> Pseudonym:
        tag = secrets.token_hex(4)
        return cls(f"{described} ({tag})", f"erased.{tag}@erased.example.org")


def erase(session: Session, email: str, in_force: Directory, author: Author, now: datetime
          ) -> tuple[Pseudonym, dict[str, int]]:  # fmt: skip
    """The leaver `email` pseudonymised in every table; the pseudonym and the rows changed
    in each table. The erasure itself is kept in the console's record, by pseudonym."""
    address = email.strip().lower()
    if address in in_force.addresses():
        raise StillInDirectoryError(f"{address} is in the directory in force: hand their "
                                    "roles over first (directory replace)")  # fmt: skip
    found = person(session, address)
    described, names = former(session, address)
    who = Person(address, found.names | names)
    pseudonym = Pseudonym.of(described)
    session.execute(update(Delivery).where(func.lower(Delivery.recipient) == address)
                    .values(payload={}).execution_options(synchronize_session=False))  # fmt: skip
    changed = {name: n for name in TABLES if (n := rewrite(session, name, who, pseudonym))}
    session.add(ConsoleAction(at=now, email=author.by, action="erasure", client=author.client,
                              subject=f"{pseudonym.name}: {author.reason}"[:400]))  # fmt: skip
    return pseudonym, changed


def former(session: Session, address: str) -> tuple[str, set[str]]:
    """What the person was ("a former named contact of Health") and every name the
    directory's versions gave them, from the newest version that names them."""
    described, names = "a former contact", set[str]()
    for version in history(session, DIRECTORY):  # the newest first
        try:
            directory = parse_directory(version.content, origin(DIRECTORY, version.number))
        except ConfigError:
            continue
        for role, name in roles(directory, address):
            described = described if names else role
            names.add(name)
    return described, names


def roles(directory: Directory, address: str) -> list[tuple[str, str]]:
    """Each (what they were, their name) the directory gives `address`."""
    found = [
        (f"a former {c.role.replace('_', ' ')} of {a.name}", c.name)
        for a in directory.agencies
        for c in a.contacts
        if c.email.lower() == address
    ]
    found += [
        (f"a former DSL of {e.name}", e.contact or "")
        for e in directory.establishments
        if e.email.lower() == address
    ]
    found += [
        ("a former LA contact", c.name) for c in directory.la_contacts if c.email.lower() == address
    ]
    officers = directory.partnership.business_manager, directory.partnership.independent_chair
    found += [(f"a former {title}", p.name) for title, p in zip(
        ("business manager", "independent chair"), officers, strict=True)
        if p.email.lower() == address]  # fmt: skip
    return [(role, name) for role, name in found if name]


def rewrite(session: Session, name: str, who: Person, pseudonym: Pseudonym) -> int:
    """Every row of the table naming `who`, with the pseudonym in their place."""
    table, held = Base.metadata.tables[name], TABLES[name]
    rows = session.execute(select(table).where(finds(table, held, who))).mappings().all()
    for row in rows:
        values = {c: pseudonym.address for c in held.addresses if is_them(row[c], who)}
        values |= {c: pseudonym.name for c in held.actors if is_them(row[c], who)}
        values |= {c: pseudonym.name for c in held.names if named_them(row[c], who)}
        values |= {c: replaced(row[c], who, pseudonym) for c in held.mentions if row[c]}
        session.execute(update(table).where(table.c["id"] == row["id"]).values(**values))
    return len(rows)


def is_them(value: object, who: Person) -> bool:
    return isinstance(value, str) and value.strip().lower() == who.email


def named_them(value: object, who: Person) -> bool:
    return isinstance(value, str) and value.strip().lower() in {n.lower() for n in who.names}


def replaced(value: Any, who: Person, pseudonym: Pseudonym) -> Any:
    """`value` (text, or a JSON document) with the address and each name (as whole words,
    in any case) replaced."""
    if isinstance(value, dict):
        return {k: replaced(v, who, pseudonym) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v, who, pseudonym) for v in value]
    if not isinstance(value, str):
        return value
    text = re.sub(re.escape(who.email), pseudonym.address, value, flags=re.I)
    for name in sorted(who.names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", pseudonym.name, text, flags=re.I)
    return text
