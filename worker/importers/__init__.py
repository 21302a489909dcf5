"""`reminders import`: detect each document's kind, parse it, store it in one transaction.

A refused document changes nothing; the documents beside it in the same command still import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.importers.cap import looks_like_cap, parse_cap
from worker.importers.columns import DEFAULT_COLUMNS, Columns
from worker.importers.csv_files import csv_kind, csv_table, parse_actions_csv, parse_sessions_csv
from worker.importers.documents import Parsed, ParsedPlan, ParsedSessionList, ParsedSheet
from worker.importers.errors import DocumentError, refuse
from worker.importers.mi_sheet import looks_like_mi_sheet, parse_mi_sheet
from worker.importers.placeholders import check_dates
from worker.importers.read import Read
from worker.importers.sources import read_source
from worker.importers.store import (
    Outcome,
    Writer,
    store_plan,
    store_session_list,
    store_sheet,
)

__all__ = ["DocumentError", "ImportOptions", "ImportResult", "import_files", "parse_file"]

NOT_RECOGNISED = (
    "neither a Composite Action Plan (no table with the columns Ref, SCR Ref, Action, "
    "Lead agency, Target date and Progress) nor an MI sheet (no 'Management Information "
    "Sheet' heading or MI Number), nor a CSV file with a documented header"
)


@dataclass(frozen=True)
class ImportOptions:
    themes: Sequence[str]
    course_code: str
    timezone: ZoneInfo
    today: date  # where the partnership is: the reference for placeholder dates
    plan: str | None = None
    columns: Columns = DEFAULT_COLUMNS  # the headings an action plan's columns go by


@dataclass
class ImportResult:
    path: Path
    kind: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    error: DocumentError | None = None


def parse_file(path: Path, options: ImportOptions) -> tuple[str, list[Parsed]]:
    """The document's kind and what it holds; raises DocumentError naming the file."""
    source = Read()
    try:
        source = read_source(path)
        kind, parsed = parse_lines(source.lines, options)
        for item in parsed:
            check_dates(item, options.today)
        return kind, parsed
    except DocumentError as exc:
        exc.file = str(path)
        if exc.line and exc.line <= len(source.places):
            exc.place = source.places[exc.line - 1]  # a Word table's row, not a line
        raise
    except OSError as exc:
        raise DocumentError(f"cannot read the file ({exc.strerror})", file=str(path)) from exc


def parse_lines(lines: list[str], options: ImportOptions) -> tuple[str, list[Parsed]]:
    kind = csv_kind(lines)
    if kind == "actions":
        return "actions CSV", list(parse_actions_csv(lines, options.themes, options.plan))
    if kind == "sessions":
        return "sessions CSV", [parse_sessions_csv(lines)]
    if looks_like_cap(lines, options.columns):
        plan = parse_cap(lines, options.themes, options.plan, options.columns)
        return "Composite Action Plan", [plan]
    if (table := csv_table(lines, options.columns)) is not None:
        plan = parse_cap(table, options.themes, options.plan, options.columns)
        return "action plan (CSV)", [plan]
    if looks_like_mi_sheet(lines):
        sheet = parse_mi_sheet(lines, options.course_code, options.timezone)
        return "MI sheet", [sheet]
    raise refuse(NOT_RECOGNISED)


def store(writer: Writer, parsed: Parsed, path: Path) -> Outcome:
    if isinstance(parsed, ParsedPlan):
        return store_plan(writer, parsed)
    if isinstance(parsed, ParsedSheet):
        return store_sheet(writer, parsed)
    if isinstance(parsed, ParsedSessionList):
        return store_session_list(writer, parsed, f"csv:{path.name}")
    raise TypeError(parsed)


def import_file(
    path: Path, factory: sessionmaker[Session], options: ImportOptions, now: datetime
) -> ImportResult:
    result = ImportResult(path)
    try:
        result.kind, parsed = parse_file(path, options)
        with transaction(factory) as session:
            writer = Writer(session, str(path), now)
            result.outcomes = [store(writer, item, path) for item in parsed]
    except DocumentError as exc:
        exc.file = str(path)
        result.error, result.outcomes = exc, []
    return result


def import_files(
    paths: Sequence[Path], factory: sessionmaker[Session], options: ImportOptions, now: datetime
) -> list[ImportResult]:
    """Each file in its own transaction, in the order given."""
    return [import_file(path, factory, options, now) for path in paths]
