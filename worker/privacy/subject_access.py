"""Subject access: everything the service holds about one person, found through the data map
(`classes.TABLES`) by `people`, written as one archive: `held.json` (every row, table by
table) and `summary.html` (the same, readable).

What is about them, and nobody else: a row of theirs is given whole, but for its secrets
(token hashes, the signed links of their digests) and the ids mail services gave their
digests (Message-IDs, Notify's ids: with one, a forged delivery report would name a digest);
from rows that only name them, the lines naming them. In every text given, any other
person's name, address or phone number is "(someone else)" (`people.masked`), and so is
every address or name column that is not theirs."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.models import Base
from worker.privacy.classes import CLASSES, TABLES, Held
from worker.privacy.people import (
    Person,
    candidates,
    concerns,
    everyone,
    lines,
    masked,
    others,
    person,
    theirs,
)
from worker.templating import render_html

# Secrets, not their data; and the ids by which a delivery report or receipt names a digest.
WITHHELD = frozenset({"token_hash", "form_token_hash", "nonce", "message_id", "provider_id"})
SOMEONE_ELSE = "(someone else)"


def held_about(session: Session, who: Person) -> dict[str, list[dict[str, Any]]]:
    """Every row concerning `who`, table by table (tables without any left out)."""
    found, anyone = {}, others(everyone(session) | who.names)
    for name, held in TABLES.items():
        table = Base.metadata.tables[name]
        rows = session.execute(select(table).where(candidates(table, held, who))).mappings()
        shown = [given(row, held, who, anyone) for row in rows if concerns(row, held, who)]
        if shown:
            found[name] = shown
    return found


def given(row: Mapping[Any, Any], held: Held, who: Person, anyone: re.Pattern[str]
          ) -> dict[str, Any]:  # fmt: skip
    """The row as given to the person (see the module's docstring)."""
    own = theirs(row, held, who)
    return {str(column): shown(str(column), value, held, who, own, anyone)
            for column, value in row.items() if column not in WITHHELD}  # fmt: skip


def shown(column: str, value: Any, held: Held, who: Person, own: bool,
          anyone: re.Pattern[str]) -> Any:  # fmt: skip
    if not value:
        return value
    if column in (*held.addresses, *held.actors):
        return value if who.is_address(value) else SOMEONE_ELSE
    if column in (*held.names, *held.also):
        return value if own else SOMEONE_ELSE
    if column in held.mentions and not own:
        value = lines(value, who.words())
    return masked(without_links(value), who, anyone, SOMEONE_ELSE)


def without_links(value: Any) -> Any:
    """A digest's content without its signed links: they act for the person while valid."""
    if isinstance(value, dict):
        return {k: without_links(v) for k, v in value.items() if not k.endswith("_url")}
    if isinstance(value, list):
        return [without_links(v) for v in value]
    return value


@dataclass(frozen=True)
class Export:
    """The archive for one person, and how many rows of each table it gives."""

    data: bytes
    counts: dict[str, int]

    def write(self, path: Path) -> None:
        """The archive in `path`, readable by its owner alone."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(handle, 0o600)  # a file that was there keeps its mode otherwise
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
