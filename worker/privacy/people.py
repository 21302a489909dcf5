"""Who a request is about, and where they are in a row: their address, every name the
directory gives or gave them, their phones, what they were; a row is theirs when a column of
the data map holds their address or a name, and it names them when its free text does (the
address as a whole address, a name as whole words: "al@x.org" is not in "sal@x.org").

And who else a text may name (`everyone`, `others`, `masked`): any e-mail address, any UK
phone number, and every person's name the directory and the rows know; a name that is also
a post's title or an agency's (`titles`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, cast, false, func, or_, select
from sqlalchemy.orm import Session

from worker.config.versions import DIRECTORY, history, origin, parse_directory
from worker.directory.entries import Directory
from worker.directory.names import fold
from worker.models import Base
from worker.privacy.classes import TABLES, Held
from worker.yaml_files import ConfigError

# Who else a line may name: any e-mail address, and a UK phone number as people write one
# (01632 960001, 020 7946 0018, 07700 900123, +44 7700 900123, +44 (0)1632 960001).
ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
PHONE = r"(?<![\w+])(?:\+44[ ]?(?:\(0\)[ ]?)?|\(?0)\d(?:[ -]?\)?[ -]?\d){8,9}(?!\d)"


@dataclass(frozen=True)
class Person:
    """Someone by address: the names the records give them, what they were, their phones
    (digits only, as `digits` writes them)."""

    email: str
    names: frozenset[str]
    was: str = "a former contact"  # as the newest directory version naming them had it
    phones: frozenset[str] = frozenset()

    def words(self) -> re.Pattern[str]:
        """Their address or any of their names, as a whole, in any case."""
        address = rf"(?<![\w.+-]){re.escape(self.email)}(?![\w-]|\.\w)"
        return re.compile("|".join([address, *whole(self.names)]), re.I)

    def is_address(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() == self.email

    def is_name(self, value: object) -> bool:
        return isinstance(value, str) and value.strip().lower() in {n.lower() for n in self.names}

    def owns(self, found: str) -> bool:
        """`found` (an address, a name or a phone number in a text) is theirs."""
        return self.is_address(found) or self.is_name(found) or digits(found) in self.phones


def whole(names: Iterable[str]) -> list[str]:
    """Patterns of `names` as whole words, the longest first (a longer name wins)."""
    return [rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(names, key=len, reverse=True)]


def digits(phone: str) -> str:
    """A phone number's digits, +44 written as its leading 0: "+44 (0)1632 960001" is
    "01632960001"."""
    found = re.sub(r"\D", "", phone)
    if found.startswith("440"):
        return found[2:]
    return "0" + found[2:] if found.startswith("44") else found


def others(names: Iterable[str]) -> re.Pattern[str]:
    """What in a text may be someone: any address, any UK phone number, any of `names`."""
    return re.compile("|".join([ADDRESS, PHONE, *whole(names)]), re.I)


def masked(value: Any, who: Person, anyone: re.Pattern[str], mask: str) -> Any:
    """`value` (text, or the texts in a JSON document) with every address, phone number and
    name `anyone` finds that is not `who`'s replaced by `mask`."""
    if isinstance(value, dict):
        return {k: masked(v, who, anyone, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, who, anyone, mask) for v in value]
    if not isinstance(value, str):
        return value
    return anyone.sub(lambda m: m.group() if who.owns(m.group()) else mask, value)


def person(session: Session, email: str) -> Person:
    """The person with this address: their names from every row holding the address and
    every directory version that named them, and the phones those versions gave them."""
    address = email.strip().lower()
    names: set[str] = set()
    for name, held in TABLES.items():
        for column in held.names:
            names |= named(session, Base.metadata.tables[name], held, column, address)
    theirs_ = [n for version in versions(session) for n in named_in(version)
               if n.address == address]  # fmt: skip
    was = theirs_[0].was if theirs_ else "a former contact"  # as the newest version had it
    names |= {n.name for n in theirs_}
    phones = frozenset(digits(n.phone) for n in theirs_ if n.phone)
    return Person(address, frozenset(n for n in names if n), was, phones)


def named(session: Session, table: Table, held: Held, column: str, address: str) -> set[str]:
    if not (held.addresses or held.actors):
        return set()
    found = session.scalars(select(table.c[column]).where(by_address(table, held, address)))
    return {str(name).strip() for name in found if name}


def versions(session: Session) -> list[Directory]:
    """Every directory version that still reads, the newest first."""
    found = []
    for version in history(session, DIRECTORY):
        try:
            found.append(parse_directory(version.content, origin(DIRECTORY, version.number)))
        except ConfigError:
            continue
    return found


@dataclass(frozen=True)
class Named:
    """Someone a directory names: their address, what they were there, their name, phone."""

    address: str  # lower case
    was: str  # "a former named contact of Health"
    name: str
    phone: str | None = None


def named_in(directory: Directory) -> list[Named]:
    """Everyone `directory` names, with a name (a school's address alone names nobody)."""
    found = [Named(c.email.lower(), f"a former {c.role.replace('_', ' ')} of {a.name}",
                   c.name, c.phone) for a in directory.agencies for c in a.contacts]  # fmt: skip
    found += [Named(e.email.lower(), f"a former DSL of {e.name}", e.contact or "")
              for e in directory.establishments]  # fmt: skip
    found += [Named(c.email.lower(), "a former LA contact", c.name, c.phone)
              for c in directory.la_contacts]  # fmt: skip
    found += [Named(c.delegate.email.lower(), "a former cover", c.delegate.name,
                    c.delegate.phone) for c in directory.cover]  # fmt: skip
    officers = directory.partnership.business_manager, directory.partnership.independent_chair
    found += [Named(p.email.lower(), f"a former {title}", p.name, p.phone) for title, p in zip(
        ("business manager", "independent chair"), officers, strict=True)]  # fmt: skip
    return [n for n in found if n.name]


def in_force(directory: Directory) -> tuple[set[str], set[str]]:
    """Every address and every name the directory in force holds (lower case)."""
    addresses = directory.addresses() | {c.delegate.email.lower() for c in directory.cover}
    return addresses, {n.name.lower() for n in named_in(directory)}


def titles(session: Session, who: Person) -> set[str]:
    """The names of `who` that are a post's title rather than theirs alone (lower case): a
    name any directory version gives someone else (a successor named "Designated Nurse"),
    or an agency's name or alias."""
    found = set[str]()
    for directory in versions(session):
        found |= {n.name.lower() for n in named_in(directory) if n.address != who.email}
        found |= {fold(alias) for a in directory.agencies for alias in [a.name, *a.aliases]}
    return {n.lower() for n in who.names if fold(n) in {fold(f) for f in found}}


def everyone(session: Session) -> frozenset[str]:
    """Every person's name the service knows: any a directory version names, and any a row
    gives beside an address (a contact, a DSL, an MI sheet's LA contact)."""
    names = {n.name for directory in versions(session) for n in named_in(directory)}
    for name, held in TABLES.items():
        table = Base.metadata.tables[name]
        if held.addresses:
            for column in held.names:
                names |= {str(n).strip() for n in session.scalars(select(table.c[column])) if n}
    return frozenset(n for n in names if n)


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
