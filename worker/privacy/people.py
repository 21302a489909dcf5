"""Who a request is about, and where they are in a row: their address, every name the
directory gives or gave them, what they were; a row is theirs when a column of the data map
holds their address or a name, and it names them when its free text does (the address as a
whole address, a name as whole words: "al@x.org" is not in "sal@x.org")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, cast, false, func, or_, select
from sqlalchemy.orm import Session

from worker.config.versions import DIRECTORY, history, origin, parse_directory
from worker.directory.entries import Directory
from worker.models import Base
from worker.privacy.classes import TABLES, Held
from worker.yaml_files import ConfigError


@dataclass(frozen=True)
class Person:
    """Someone by address: the names the records give them and what they were."""

    email: str
    names: frozenset[str]
    was: str = "a former contact"  # as the newest directory version naming them had it

    def words(self) -> re.Pattern[str]:
        """Their address or any of their names, as a whole, in any case."""
        address = rf"(?<![\w.+-]){re.escape(self.email)}(?![\w-]|\.\w)"
        names = [rf"\b{re.escape(n)}\b" for n in sorted(self.names, key=len, reverse=True)]
        return re.compile("|".join([address, *names]), re.I)

    def is_address(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() == self.email

    def is_name(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() in {n.lower() for n in self.names}


def person(session: Session, email: str) -> Person:
    """The person with this address: their names from every row holding the address and
    every directory version that named them."""
    address = email.strip().lower()
    names: set[str] = set()
    for name, held in TABLES.items():
        for column in held.names:
            names |= named(session, Base.metadata.tables[name], held, column, address)
    was, former = former_roles(session, address)
    return Person(address, frozenset(n for n in names | former if n), was)


def named(session: Session, table: Table, held: Held, column: str, address: str) -> set[str]:
    if not (held.addresses or held.actors):
        return set()
    found = session.scalars(select(table.c[column]).where(by_address(table, held, address)))
    return {str(name).strip() for name in found if name}


def former_roles(session: Session, address: str) -> tuple[str, set[str]]:
    """What the newest directory version naming `address` made them ("a former named
    contact of Health"), and every name any version gave them."""
    was, names = "a former contact", set[str]()
    for version in history(session, DIRECTORY):  # the newest first
        try:
            directory = parse_directory(version.content, origin(DIRECTORY, version.number))
        except ConfigError:
            continue
        for role, name in roles(directory, address):
            was = was if names else role
            names.add(name)
    return was, names


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
    found += [
        ("a former cover", c.delegate.name)
        for c in directory.cover
        if c.delegate.email.lower() == address
    ]
    officers = directory.partnership.business_manager, directory.partnership.independent_chair
    found += [(f"a former {title}", p.name) for title, p in zip(
        ("business manager", "independent chair"), officers, strict=True)
        if p.email.lower() == address]  # fmt: skip
    return [(role, name) for role, name in found if name]


def in_force(directory: Directory) -> tuple[set[str], set[str]]:
    """Every address and every name the directory in force holds (lower case)."""
    addresses = directory.addresses() | {c.delegate.email.lower() for c in directory.cover}
    names = {name.lower() for address in addresses for _, name in roles(directory, address)}
    return addresses, names


def by_address(table: Table, held: Held, address: str) -> ColumnElement[bool]:
    columns = [*held.addresses, *held.actors]
    return or_(false(), *(func.lower(table.c[c]) == address for c in columns))


def candidates(table: Table, held: Held, who: Person) -> ColumnElement[bool]:
    """Rows that may concern `who` (free text by substring: `concerns` decides)."""
    lowered = [n.lower() for n in who.names]
    return or_(
        by_address(table, held, who.email),
        *(func.lower(table.c[c]).in_(lowered) for c in held.names if lowered),
        *(func.lower(cast(table.c[c], Text)).contains(w, autoescape=True)
          for c in held.mentions for w in [who.email, *lowered]),
    )  # fmt: skip


def theirs(row: Mapping[Any, Any], held: Held, who: Person) -> bool:
    """The row is about them: an address, actor or name column holds theirs."""
    return (any(who.is_address(row[c]) for c in (*held.addresses, *held.actors))
            or any(who.is_name(row[c]) for c in held.names))  # fmt: skip


def concerns(row: Mapping[Any, Any], held: Held, who: Person) -> bool:
    """The row is theirs, or its free text names them."""
    words = who.words()
    return theirs(row, held, who) or any(lines(row[c], words) for c in held.mentions)


def lines(value: object, words: re.Pattern[str]) -> list[str]:
    """The lines of `value` (text, or the texts in a JSON document) that name them."""
    if isinstance(value, dict):
        return [line for item in value.values() for line in lines(item, words)]
    if isinstance(value, list):
        return [line for item in value for line in lines(item, words)]
    text = value if isinstance(value, str) else ""
    return [line for line in text.splitlines() if words.search(line)]
