"""A column map: which column of one plan's tables holds each field, for a plan whose
headings the defaults and the settings do not name.

On the command line it is a file (`reminders import --columns FILE`):

    text: Action Point        # the heading as the plan writes it (case and spacing aside)
    lead_agency: Lead
    progress: Progress Update
    target_date: none         # the plan gives no target dates: each action is Ongoing
    ref: none                 # no references: the rows are numbered (1, 2, … or 1.1, …)

On the imports page the business manager chooses the columns of one of the document's
`tables`; the map is saved with the import under that table's heading row (`save`), and
every later document with a table under the same row is read with it (`saved`).

Only the map's headings are read; the plan's other columns are its own. Action and Lead are
needed; a mistake is refused naming its key, and nothing is imported.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.importers.columns import (
    DEFAULT_COLUMNS,
    FIELD_LABELS,
    Columns,
    folded,
    heading_row,
)
from worker.models import SavedColumnMap
from worker.yaml_files import mapping, read_yaml, validated

log = logging.getLogger(__name__)
NONE = "none"
FIELDS = ("ref", "text", "lead_agency", "target_date", "rag", "progress", "scr_refs", "theme")
TABLES_SHOWN = 5
ROWS_SHOWN = 3
LONGEST_HEADING = 80


class ColumnMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    lead_agency: str
    target_date: str = NONE
    ref: str = NONE
    scr_refs: str | None = None
    progress: str | None = None
    rag: str | None = None
    theme: str | None = None

    @field_validator("*")
    @classmethod
    def a_heading(cls, value: str | None) -> str | None:
        if value is not None and not folded(value):
            raise ValueError("a heading needs at least one letter or digit")
        return value

    @model_validator(mode="after")
    def one_field_a_column(self) -> ColumnMap:
        seen: dict[str, str] = {}
        for field, heading in self.model_dump().items():
            if heading and folded(heading) != NONE:
                other = seen.setdefault(folded(heading), field)
                if other != field:
                    raise ValueError(f"{FIELD_LABELS[other]} ({other}) and {FIELD_LABELS[field]} "
                                 f"({field}) are both the column {heading!r}")  # fmt: skip
        return self

    def columns(self, row: str | None = None) -> Columns:
        """The map as the plan reader takes it; with `row`, for that heading row alone."""
        named = {field: heading for field, heading in self.model_dump().items() if heading}
        without = {f for f in ("ref", "target_date") if folded(named[f]) == NONE}
        fields = {folded(h): f for f, h in named.items() if f not in without}
        return Columns(fields, mapped=True, without=frozenset(without), row=row)


def read_column_map(path: Path) -> Columns:
    """The map in `path`; ConfigError naming each problem by its key."""
    data = mapping(path, read_yaml(path, empty="a column map"), "a column map")
    return validated(path, ColumnMap, data).columns()


@dataclass(frozen=True)
class Table:
    """A table a column map can be made for: its heading row and the first rows under it."""

    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def row(self) -> str:
        return heading_row(self.headings)

    def guessed(self) -> dict[str, str]:
        """The picks its headings suggest (the default names of each field), as a plan with
        these headings is read without a map."""
        return {field: str(at) for field, at in DEFAULT_COLUMNS.picks(self.headings).items()}

    def at(self, pick: str) -> str:
        """The heading at position `pick` ("0", "1", …), "none" for none; "" for no choice."""
        if pick == NONE:
            return NONE
        return self.headings[int(pick)] if pick.isdigit() and int(pick) < len(self.headings) else ""


@dataclass(frozen=True)
class TableMap:
    """A map chosen on the imports page for one of a document's tables."""

    table: Table
    chosen: ColumnMap

    def columns(self) -> Columns:
        return self.chosen.columns(self.table.row)

    @classmethod
    def picked(cls, table: Table, picks: Mapping[str, str]) -> TableMap:
        """The map of `picks` (field -> a column's position, or "none"); ValueError saying,
        in the field's label, what is missing or wrong."""
        named = {field: heading for field, pick in picks.items() if (heading := table.at(pick))}
        try:
            return cls(table, ColumnMap.model_validate(named))
        except ValidationError as exc:
            raise ValueError(problems(exc)) from exc


def problems(exc: ValidationError) -> str:
    """A map's problems in the words of the imports page."""
    said = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "missing":
            said.append(f"{FIELD_LABELS.get(field, field)}: choose the column that holds it.")
        else:
            said.append(str(error["msg"]).removeprefix("Value error, ") + ".")
    return " ".join(said)


def tables(lines: list[str]) -> list[Table]:
    """The document's tables, each heading row once: a run of lines of several cells (tab-
    separated, or a CSV file's records), its first line taken for the headings."""
    found: dict[str, Table] = {}
    run: list[tuple[str, ...]] = []
    for cells in [*records(lines), ()]:
        if sum(1 for c in cells if c) >= 2:
            run.append(cells)
            continue
        if len(run) >= 2 and headings_like(run[0]):
            rows = tuple(widened(row, len(run[0])) for row in run[1 : 1 + ROWS_SHOWN])
            found.setdefault(heading_row(run[0]), Table(run[0], rows))
        run = []
    return list(found.values())[:TABLES_SHOWN]


def records(lines: list[str]) -> list[tuple[str, ...]]:
    """Each line's cells, trimmed: tab-separated, else (no tab anywhere) a CSV record."""
    if any("\t" in line for line in lines):
        return [tuple(" ".join(c.split()) for c in line.split("\t")) for line in lines]
    try:
        return [tuple(" ".join(c.split()) for c in cells) for cells in csv.reader(lines)]
    except csv.Error:
        return []


def widened(cells: tuple[str, ...], width: int) -> tuple[str, ...]:
    """`cells` as wide as the heading row: cut, or filled with empty cells."""
    return cells[:width] + ("",) * (width - len(cells))


def headings_like(cells: tuple[str, ...]) -> bool:
    named = [c for c in cells if c]
    return all(len(c) <= LONGEST_HEADING and any(ch.isalpha() for ch in c) for c in named)


def saved(session: Session) -> tuple[Columns, ...]:
    """Every saved map, each reading only its own heading row; one that no longer reads (a
    field renamed since) is logged and left out, never in the way of the others."""
    found = []
    for row in session.scalars(select(SavedColumnMap).order_by(SavedColumnMap.id)):
        try:
            chosen = ColumnMap.model_validate(row.fields)
        except ValidationError:
            log.warning("column map %s (%s) no longer reads; left out", row.id, row.headings)
            continue
        found.append(chosen.columns(heading_row(row.headings.split("\t"))))
    return tuple(found)


def save(session: Session, chosen: TableMap, by: str, now: datetime) -> None:
    """The map saved under its table's heading row, in place of any map saved for it."""
    row_hash = hashlib.sha256(chosen.table.row.encode()).hexdigest()
    values = {"headings": "\t".join(chosen.table.headings), "saved_by": by, "saved_at": now,
              "fields": chosen.chosen.model_dump(exclude_none=True)}  # fmt: skip
    try:
        with session.begin_nested():  # two imports saving one row's map at once: one inserts
            session.execute(insert(SavedColumnMap).values(row_hash=row_hash, **values))
    except IntegrityError:
        update_row = update(SavedColumnMap).where(SavedColumnMap.row_hash == row_hash)
        session.execute(update_row.values(**values))
