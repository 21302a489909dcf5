"""Subject access: everything the service holds about one person, found through the data map
(`classes.TABLES`: the columns where an address or a name is kept, and the free text that
may name them), written as one archive: `held.json` (every row, table by table) and
`summary.html` (the same, readable). Free text gives only its lines that name them; the
hashes of tokens are never given."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, cast, false, func, or_, select
from sqlalchemy.orm import Session

from worker.models import Base
from worker.privacy.classes import CLASSES, TABLES, Held
from worker.templating import render_html

WITHHELD = frozenset({"token_hash", "form_token_hash", "nonce"})  # secrets, not their data


@dataclass(frozen=True)
class Person:
    """Who is asked about: their address, and the names the directory gives them."""

    email: str
    names: frozenset[str]


def person(session: Session, email: str) -> Person:
    """The person with this address, their names from every row naming the address."""
    address = email.strip().lower()
    names: set[str] = set()
    for table, held in TABLES.items():
        for column in held.names:
            names |= named(session, Base.metadata.tables[table], held, column, address)
    return Person(address, frozenset(n for n in names if n))


def named(session: Session, table: Table, held: Held, column: str, address: str) -> set[str]:
    if not (held.addresses or held.actors):
        return set()
    found = session.scalars(select(table.c[column]).where(by_address(table, held, address)))
    return {str(name).strip() for name in found if name}


def by_address(table: Table, held: Held, address: str) -> ColumnElement[bool]:
    columns = [*held.addresses, *held.actors]
    return or_(false(), *(func.lower(table.c[c]) == address for c in columns))


def held_about(session: Session, who: Person) -> dict[str, list[dict[str, Any]]]:
    """Every row naming `who`, table by table (tables without any left out)."""
    found = {}
    for name, held in TABLES.items():
        table = Base.metadata.tables[name]
        rows = session.execute(select(table).where(finds(table, held, who))).mappings()
        shown = [given(row, held, who) for row in rows]
        if shown:
            found[name] = shown
    return found


def finds(table: Table, held: Held, who: Person) -> ColumnElement[bool]:
    lowered = [n.lower() for n in who.names]
    words = [who.email, *lowered]
    return or_(
        by_address(table, held, who.email),
        *(func.lower(table.c[c]).in_(lowered) for c in held.names if lowered),
        *(func.lower(cast(table.c[c], Text)).contains(w, autoescape=True)
          for c in held.mentions for w in words),
    )  # fmt: skip


def given(row: Mapping[Any, Any], held: Held, who: Person) -> dict[str, Any]:
    """The row as given to the person: tokens withheld; free text cut to their lines, but
    for what was sent to them (a digest of theirs is given whole)."""
    words = [who.email, *(n.lower() for n in who.names)]
    theirs = any(str(row[c] or "").strip().lower() == who.email for c in held.addresses)
    shown = {}
    for column, value in row.items():
        if column in WITHHELD:
            continue
        if column in held.mentions and value and not theirs:
            value = naming(value, words)
        shown[str(column)] = value
    return shown


def naming(value: object, words: list[str]) -> list[str]:
    """The lines of `value` (text, or the texts inside a JSON document) naming any word."""
    if isinstance(value, dict):
        return [line for item in value.values() for line in naming(item, words)]
    if isinstance(value, list):
        return [line for item in value for line in naming(item, words)]
    text = value if isinstance(value, str) else ""
    return [line for line in text.splitlines() if any(w in line.lower() for w in words)]


@dataclass(frozen=True)
class Export:
    """The archive for one person, and how many rows of each table it gives."""

    data: bytes
    counts: dict[str, int]

    def write(self, path: Path) -> None:
        """The archive in `path`, readable by its owner alone."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(self.data)


def export(session: Session, email: str, now: datetime) -> Export:
    """The archive of everything held about `email`."""
    who = person(session, email)
    found = held_about(session, who)
    data = {"person": who.email, "names": sorted(who.names), "made_at": now.isoformat(),
            "held": found}  # fmt: skip
    summary = render_html("privacy/subject_access.html", who=who, found=found, now=now,
                          tables=TABLES, classes=CLASSES)  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("held.json", json.dumps(data, indent=1, default=str, sort_keys=True))
        archive.writestr("summary.html", summary)
    return Export(buffer.getvalue(), {name: len(rows) for name, rows in found.items()})
