"""`reminders import`: detect each document's kind, parse it, store it in one transaction.

A refused document changes nothing; the documents beside it in the same command still import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.importers.briefing import looks_like_briefing, parse_briefing
from worker.importers.cap import looks_like_cap, parse_cap, plan_title
from worker.importers.column_map import Table, TableMap, tables
from worker.importers.column_map import save as save_column_map
from worker.importers.columns import DEFAULT_COLUMNS, Columns
from worker.importers.csv_files import csv_kind, csv_table, parse_actions_csv, parse_sessions_csv
from worker.importers.documents import Parsed, ParsedPlan, ParsedSessionList, ParsedSheet
from worker.importers.errors import DocumentError, refuse
from worker.importers.history import keep_original, record_import
from worker.importers.limits import Limits
from worker.importers.mi_sheet import looks_like_mi_sheet, parse_mi_sheet
from worker.importers.placeholders import check_dates
from worker.importers.read import Read
from worker.importers.sources import DEFAULT_LIMITS, read_source
from worker.importers.store import (
    FieldChange,
    Outcome,
    Writer,
    store_briefing,
    store_plan,
    store_session_list,
    store_sheet,
)

__all__ = [
    "DocumentError",
    "ImportOptions",
    "ImportResult",
    "Importer",
    "Received",
    "import_files",
    "parse_file",
]

NOT_RECOGNISED = (
    "neither a Composite Action Plan (no table with the columns Action, Lead agency and "
    "Target date) nor an MI sheet (no 'Management Information Sheet' heading or MI Number), "
    "nor a learning briefing (no 'Recommendation 1.' under a heading naming the review), "
    "nor a CSV file with a documented header"
)


@dataclass(frozen=True)
class ImportOptions:
    themes: Sequence[str]
    course_code: str
    timezone: ZoneInfo
    today: date  # where the partnership is: the reference for placeholder dates
    plan: str | None = None
    columns: Columns = DEFAULT_COLUMNS  # the headings an action plan's columns go by
    plan_if_untitled: bool = False  # `plan` names only plans whose document has no title
    limits: Limits = DEFAULT_LIMITS  # what reading one document may cost
    saved: tuple[Columns, ...] = ()  # column maps saved on the imports page, by heading row

    def title_for(self, lines: list[str]) -> str | None:
        """The title to give a plan read from `lines`; None for the document's own."""
        if self.plan is None or not self.plan_if_untitled:
            return self.plan
        try:
            plan_title(lines)
        except DocumentError:
            return self.plan
        return None


@dataclass(frozen=True)
class Received:
    """A document as it reached the service: the name it came with, and its bytes."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ImportResult:
    name: str
    kind: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    error: DocumentError | None = None
    changes: list[FieldChange] = field(default_factory=list)  # what it set, for a preview
    sha256: str = ""
    size: int = 0
    record_id: int | None = None  # its line in the import history, once stored


def parse_file(path: Path, options: ImportOptions) -> tuple[str, list[Parsed]]:
    """The document's kind and what it holds; raises DocumentError naming the file."""
    return parse_document(received(path), options)


def received(path: Path) -> Received:
    try:
        return Received(str(path), path.read_bytes())
    except OSError as exc:
        raise DocumentError(f"cannot read the file ({exc.strerror})", file=str(path)) from exc


def parse_document(document: Received, options: ImportOptions) -> tuple[str, list[Parsed]]:
    """The document's kind and what it holds; raises DocumentError naming the file."""
    source = Read()
    try:
        source = read_source(document.data, options.limits)
        kind, parsed = parse_lines(source.lines, options)
        for item in parsed:
            check_dates(item, options.today)
        return kind, parsed
    except DocumentError as exc:
        exc.file = document.name
        if exc.line and exc.line <= len(source.places):
            exc.place = source.places[exc.line - 1]  # a Word table's row, not a line
        raise


def document_tables(document: Received, options: ImportOptions) -> list[Table]:
    """The tables in `document` a column map can be made for; DocumentError if unreadable."""
    try:
        return tables(read_source(document.data, options.limits).lines)
    except DocumentError as exc:
        exc.file = document.name
        raise


def parse_lines(lines: list[str], options: ImportOptions) -> tuple[str, list[Parsed]]:
    kind = csv_kind(lines)
    if kind == "actions":
        plans = parse_actions_csv(lines, options.themes, options.plan, options.plan_if_untitled)
        return "actions CSV", list(plans)
    if kind == "sessions":
        return "sessions CSV", [parse_sessions_csv(lines)]
    if looks_like_mi_sheet(lines):
        sheet = parse_mi_sheet(lines, options.course_code, options.timezone)
        return "MI sheet", [sheet]
    if looks_like_briefing(lines):  # before plans: its recommendations may be a table
        return "learning briefing", [parse_briefing(lines)]
    if looks_like_cap(lines, options.columns):
        plan = parse_cap(lines, options.themes, options.title_for(lines), options.columns)
        return "Composite Action Plan", [plan]
    if (table := csv_table(lines, options.columns)) is not None:
        plan = parse_cap(table, options.themes, options.title_for(table), options.columns)
        return "action plan (CSV)", [plan]
    for columns in options.saved:  # a table whose heading row the business manager mapped
        if looks_like_cap(lines, columns) or csv_table(lines, columns) is not None:
            kind, parsed = parse_lines(lines, replace(options, columns=columns, saved=()))
            return f"{kind}, columns as saved", parsed
    raise refuse(NOT_RECOGNISED)


def store(writer: Writer, parsed: Parsed, name: str) -> Outcome:
    if isinstance(parsed, ParsedPlan):
        return store_plan(writer, parsed)
    if isinstance(parsed, ParsedSheet):
        return store_sheet(writer, parsed)
    if isinstance(parsed, ParsedSessionList):
        return store_session_list(writer, parsed, f"csv:{Path(name).name}")
    return store_briefing(writer, parsed)


class ImportedMeanwhileError(Exception):
    """Another import stored the same new plan or sheet while this one was being stored."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: imported by another import at the same moment; "
                         "nothing of this copy was stored")  # fmt: skip


@dataclass(frozen=True)
class Importer:
    """Imports documents, each in its own transaction, and keeps their history: who, when,
    which file and what it did, the original kept in `originals` (when given). A dry run
    does everything but commit: its results are the preview."""

    factory: sessionmaker[Session]
    options: ImportOptions
    now: datetime
    by: str = "command line"
    originals: Path | None = None
    dry_run: bool = False
    also: Callable[[Session, ImportResult], None] | None = None  # in the same transaction
    table_map: TableMap | None = None  # chosen on the imports page: saved with the import

    def read_by(self, table_map: TableMap) -> Importer:
        """This importer reading with a map chosen for one table, saved with each import."""
        options = replace(self.options, columns=table_map.columns())
        return replace(self, options=options, table_map=table_map)

    def run(self, documents: Sequence[Received]) -> list[ImportResult]:
        return [self.one(document) for document in documents]

    def file(self, path: Path) -> ImportResult:
        """`one` for a file on disk; a file that cannot be read is refused like a bad one."""
        try:
            return self.one(received(path))
        except DocumentError as exc:
            return ImportResult(str(path), error=exc)
        except ImportedMeanwhileError as exc:
            return ImportResult(str(path), error=DocumentError(str(exc), file=str(path)))

    def one(self, document: Received) -> ImportResult:
        """Import `document`; ImportedMeanwhileError when another import stored the same
        plan or sheet at the same moment (nothing of this one is stored)."""
        result = ImportResult(document.name, sha256=document.sha256, size=len(document.data))
        try:
            result.kind, parsed = parse_document(document, self.options)
            with self.factory() as session:  # closing it rolls back what is not committed
                writer = Writer(session, document.name, self.now, preview=self.dry_run)
                result.outcomes = [store(writer, item, document.name) for item in parsed]
                writer.save()
                result.changes = writer.noted
                if not self.dry_run:
                    self.remember(session, document, result)
                    if self.table_map is not None:
                        save_column_map(session, self.table_map, self.by, self.now)
                    session.commit()
        except IntegrityError as exc:  # the same new plan or sheet, stored by another import
            raise ImportedMeanwhileError(document.name) from exc
        except DocumentError as exc:
            exc.file = document.name
            result.error, result.outcomes, result.changes = exc, [], []
            if not self.dry_run:
                with transaction(self.factory) as session:
                    self.remember(session, document, result)
        return result

    def remember(self, session: Session, document: Received, result: ImportResult) -> None:
        if self.originals is not None:
            keep_original(self.originals, document.data)
        result.record_id = record_import(session, result, self.by, self.now)
        if self.also is not None:
            self.also(session, result)


def import_files(
    paths: Sequence[Path],
    factory: sessionmaker[Session],
    options: ImportOptions,
    now: datetime,
    by: str = "command line",
    originals: Path | None = None,
) -> list[ImportResult]:
    """Each file in its own transaction, in the order given."""
    importer = Importer(factory, options, now, by, originals)
    return [importer.file(path) for path in paths]
