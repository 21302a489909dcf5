"""`reminders import`: detect each document's kind, parse it, store it in a savepoint of a
transaction shared by a batch of documents (worker/importers/batch.py).

A refused document changes nothing; the documents beside it in the same command still import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from worker.db import begin_writing
from worker.importers.batch import DOCUMENTS, SECONDS, WAITING_BYTES, Batch
from worker.importers.briefing import looks_like_briefing, parse_briefing
from worker.importers.cap import looks_like_cap, parse_cap, plan_title
from worker.importers.column_map import Table, TableMap, tables
from worker.importers.column_map import save as save_column_map
from worker.importers.columns import DEFAULT_COLUMNS, Columns
from worker.importers.csv_files import csv_kind, csv_table, parse_actions_csv, parse_sessions_csv
from worker.importers.documents import Parsed, ParsedPlan, ParsedSessionList, ParsedSheet
from worker.importers.errors import DocumentError, refuse
from worker.importers.history import keep_original, record_import, record_imports
from worker.importers.limits import Limits
from worker.importers.mi_sheet import looks_like_mi_sheet, parse_mi_sheet
from worker.importers.placeholders import check_dates
from worker.importers.read import Read
from worker.importers.reading import Reading
from worker.importers.sources import DEFAULT_LIMITS, read_source
from worker.importers.store import (
    FieldChange,
    Outcome,
    Writer,
    save_histories,
    store_briefing,
    store_plan,
    store_session_list,
    store_sheet,
    store_sheets,
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

T = TypeVar("T")

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

    file_stem: str = ""  # the document's file name without its suffix: a plan's last name
    # One upload's reading (each document once, all within its budget); None: each alone.
    reading: Reading | None = field(default=None, compare=False)

    def read(self, data: bytes) -> Read:
        """A document's lines, read within `limits` (and the upload's, for an upload)."""
        return read_source(data, self.limits) if self.reading is None else self.reading(data)

    def title_for(self, lines: list[str]) -> str | None:
        """The title to give a plan read from `lines`; None for the document's own."""
        if self.plan is None or not self.plan_if_untitled:
            return self.plan
        return None if plan_title(lines) else self.plan


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
        source = options.read(document.data)
        named = replace(options, file_stem=PurePath(document.name).stem)
        kind, parsed = parse_lines(source.lines, named)
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
        return tables(options.read(document.data).lines)
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
    if not options.columns.mapped and (saved := as_saved(lines, options)) is not None:
        return saved
    if looks_like_cap(lines, options.columns):
        plan = parse_cap(lines, options.themes, options.title_for(lines), options.columns,
                         options.file_stem)  # fmt: skip
        return "Composite Action Plan", [plan]
    if (table := csv_table(lines, options.columns)) is not None:
        plan = parse_cap(table, options.themes, options.title_for(table), options.columns,
                         options.file_stem)  # fmt: skip
        return "action plan (CSV)", [plan]
    raise refuse(NOT_RECOGNISED)


def as_saved(lines: list[str], options: ImportOptions) -> tuple[str, list[Parsed]] | None:
    """The document read with a column map saved on the imports page for one of its heading
    rows, if one was: for a plan nobody's headings name, or whose columns they leave unread."""
    for columns in options.saved:
        if looks_like_cap(lines, columns) or csv_table(lines, columns) is not None:
            kind, parsed = parse_lines(lines, replace(options, columns=columns, saved=()))
            return f"{kind}, columns as saved", parsed
    return None


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


Done = Callable[[ImportResult], None]  # told of each document's result as it is stored


@dataclass
class Pending:
    """A document read and parsed (or refused), waiting for its turn to be stored."""

    result: ImportResult
    document: Received | None = None  # None: the file could not be read
    parsed: list[Parsed] = field(default_factory=list)

    @property
    def sheet(self) -> ParsedSheet | None:
        """The MI sheet the document is, if that is all it is: stored with those beside it."""
        one = self.parsed[0] if len(self.parsed) == 1 and self.result.error is None else None
        return one if isinstance(one, ParsedSheet) else None

    def refused(self, error: DocumentError) -> Pending:
        error.file = self.result.name
        self.result.error, self.result.outcomes, self.result.changes = error, [], []
        return self


@dataclass(frozen=True)
class Importer:
    """Imports documents and keeps their history: who, when, which file and what it did, the
    original kept in `originals` (when given). The documents of one call share a transaction,
    each in a savepoint of its own, committed in batches (worker/importers/batch.py): a
    refused document changes nothing, the others still import. A dry run does everything
    but commit, each document alone: its results are the preview."""

    factory: sessionmaker[Session]
    options: ImportOptions
    now: datetime
    by: str = "command line"
    originals: Path | None = None
    dry_run: bool = False
    # Items already overdue: None, their ladder as dated; N, started on the import day, its
    # first step entering stage N (a plan the partnership already had).
    start_stage: int | None = None
    also: Callable[[Session, ImportResult], None] | None = None  # in the same transaction
    table_map: TableMap | None = None  # chosen on the imports page: saved with the import
    batch_size: int = DOCUMENTS  # documents per transaction, at most
    batch_seconds: float = SECONDS  # a transaction open this long commits after its document

    def upload(self) -> Importer:
        """This importer reading for one upload: each document once, however often it is
        asked for, and all of them within the upload's budget (worker/importers/reading.py)."""
        options = replace(self.options, reading=Reading(self.options.limits))
        return replace(self, options=options)

    def read_by(self, table_map: TableMap) -> Importer:
        """This importer reading with a map chosen for one table, saved with each import."""
        options = replace(self.options, columns=table_map.columns())
        return replace(self, options=options, table_map=table_map)

    def run(self, documents: Sequence[Received]) -> list[ImportResult]:
        """Each document imported, in order, in batches; ImportedMeanwhileError as `one`
        (the documents before it are stored)."""
        return self.store_all(map(self.parse, documents), meanwhile_refused=False)

    def one(self, document: Received) -> ImportResult:
        """Import `document` in a transaction of its own; ImportedMeanwhileError when another
        import stored the same plan or sheet at the same moment (nothing of this one is
        stored)."""
        [result] = self.run([document])
        return result

    def files(self, paths: Sequence[Path], done: Done | None = None) -> list[ImportResult]:
        """Each file imported, in order, in batches; one that cannot be read, or was stored
        by another import at the same moment, is refused like a bad one. `done` is told of
        each result as it is stored."""
        return self.store_all(map(self.read, paths), done=done)

    def file(self, path: Path) -> ImportResult:
        """`files` of one."""
        [result] = self.files([path])
        return result

    def store_all(
        self, documents: Iterable[Pending], done: Done | None = None, meanwhile_refused: bool = True
    ) -> list[ImportResult]:
        """`documents` stored in order, in batches; the results, in the same order."""
        with Batch(self.factory, self.batch_size, self.batch_seconds, self.dry_run) as batch:
            storing = Storing(self, batch, meanwhile_refused, done)
            for pending in documents:
                storing.add(pending)
            storing.flush()
        return storing.results

    def rehearse(self, documents: Iterable[Pending], then: Callable[[Session], T]) -> T:
        """Every document (parsed, by this importer or one like it) that can be imported
        written in one transaction, `then` asked of it, and everything rolled back: what the
        documents would do together."""
        with self.factory() as session:  # closing it rolls back
            begin_writing(session)
            for pending in documents:
                if pending.document is None or pending.result.error is not None:
                    continue
                try:
                    with session.begin_nested():
                        self.write(session, pending.document, pending.result, pending.parsed)
                except (DocumentError, IntegrityError):
                    continue  # refused: the preview of that document says why
            return then(session)

    def read(self, path: Path) -> Pending:
        try:
            return self.parse(received(path))
        except DocumentError as exc:
            return Pending(ImportResult(str(path), error=exc))

    def parse(self, document: Received) -> Pending:
        result = ImportResult(document.name, sha256=document.sha256, size=len(document.data))
        try:
            result.kind, parsed = parse_document(document, self.options)
        except DocumentError as exc:
            return Pending(result, document).refused(exc)
        return Pending(result, document, parsed)

    def alone(self, batch: Batch, pending: Pending) -> ImportResult:
        """`pending` in its own savepoint of `batch`: stored whole, or refused with nothing of
        it stored (and its refusal kept in the history)."""
        document, result = pending.document, pending.result
        if document is not None and result.error is None:
            try:
                with batch.document() as session:
                    self.write(session, document, result, pending.parsed)
            except IntegrityError as exc:  # the same new plan or sheet, stored by another import
                raise ImportedMeanwhileError(document.name) from exc
            except DocumentError as exc:
                pending.refused(exc)
        if document is not None and result.error is not None and not self.dry_run:
            with batch.document() as session:
                self.remember(session, document, result)
        batch.done()
        return result

    def write(
        self, session: Session, document: Received, result: ImportResult, parsed: list[Parsed]
    ) -> None:
        """What `parsed` holds, stored, and (unless a dry run) the document's history."""
        writer = Writer(session, document.name, self.now, preview=self.dry_run,
                        ladder_start_stage=self.start_stage)  # fmt: skip
        result.outcomes = [store(writer, item, document.name) for item in parsed]
        writer.save()
        result.changes = writer.noted
        if not self.dry_run:
            self.remember(session, document, result)
            if self.table_map is not None:
                save_column_map(session, self.table_map, self.by, self.now)

    def write_sheets(self, session: Session, run: list[Pending]) -> None:
        """MI sheets, each its own document, stored together (`store_sheets`), and their
        history; OverlapError when they cannot be."""
        writers = [Writer(session, p.result.name, self.now, ladder_start_stage=self.start_stage)
                   for p in run]  # fmt: skip
        outcomes = store_sheets([(w, s) for w, p in zip(writers, run, strict=True)
                                 if (s := p.sheet) is not None])  # fmt: skip
        save_histories(writers)
        for pending, outcome in zip(run, outcomes, strict=True):
            pending.result.outcomes = [outcome]
            if self.originals is not None and pending.document is not None:
                keep_original(self.originals, pending.document.data)
        ids = record_imports(session, [p.result for p in run], self.by, self.now)
        for pending, record_id in zip(run, ids, strict=True):
            pending.result.record_id = record_id
            if self.also is not None:
                self.also(session, pending.result)

    def remember(self, session: Session, document: Received, result: ImportResult) -> None:
        if self.originals is not None:
            keep_original(self.originals, document.data)
        result.record_id = record_import(session, result, self.by, self.now)
        if self.also is not None:
            self.also(session, result)


@dataclass
class Storing:
    """One call's documents on their way into the batch, in order. MI sheets in a row wait to
    be stored together, in a few statements and one savepoint (a savepoint and six
    statements each cost more than parsing one); should that fail, or the sheets touch one
    another's rows, they are stored one at a time, each in its own savepoint, which refuses
    just the one at fault."""

    importer: Importer
    batch: Batch
    meanwhile_refused: bool  # ImportedMeanwhileError: the document's refusal, else raised
    done: Done | None = None
    results: list[ImportResult] = field(default_factory=list)
    waiting: list[Pending] = field(default_factory=list)  # MI sheets to store together
    named: dict[str, str] = field(default_factory=dict)  # a plan name given -> its document

    def add(self, pending: Pending) -> None:
        self.check_names(pending)
        if pending.sheet is None or self.importer.dry_run or self.importer.table_map is not None:
            self.flush()
            self.alone(pending)
            return
        self.waiting.append(pending)
        held = sum(len(p.document.data) for p in self.waiting if p.document is not None)
        if len(self.waiting) >= self.batch.room() or held >= WAITING_BYTES or self.batch.due():
            self.flush()

    def check_names(self, pending: Pending) -> None:
        """Two documents of one import given one plan name: the second is refused, as its
        actions would withdraw the first's."""
        for plan in pending.parsed:
            if not isinstance(plan, ParsedPlan) or plan.named_from != "given":
                continue
            first = self.named.setdefault(plan.title, pending.result.name)
            if first != pending.result.name:
                pending.refused(refuse(f"{first} of this import is also named “{plan.title}”, "
                                       "and this one's actions would withdraw its own: give "
                                       "each plan a name of its own"))  # fmt: skip
                return

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        if len(waiting) > 1 and self.together(waiting):
            return
        for pending in waiting:
            self.alone(pending)

    def together(self, run: list[Pending]) -> bool:
        """Store `run` in one savepoint; False, with nothing of it stored, if that failed."""
        try:
            with self.batch.document() as session:
                self.importer.write_sheets(session, run)
        except Exception:  # each alone raises or refuses it where it belongs
            for pending in run:
                pending.result.outcomes, pending.result.record_id = [], None
            return False
        self.batch.done(len(run))
        for pending in run:
            self.finish(pending.result)
        return True

    def alone(self, pending: Pending) -> None:
        try:
            result = self.importer.alone(self.batch, pending)
        except ImportedMeanwhileError as exc:
            if not self.meanwhile_refused:
                raise
            name = pending.result.name
            result = ImportResult(name, error=DocumentError(str(exc), file=name))
        self.finish(result)

    def finish(self, result: ImportResult) -> None:
        self.results.append(result)
        if self.done is not None:
            self.done(result)


def import_files(
    paths: Sequence[Path],
    factory: sessionmaker[Session],
    options: ImportOptions,
    now: datetime,
    by: str = "command line",
    originals: Path | None = None,
) -> list[ImportResult]:
    """Each file imported, in the order given, in batches (`Importer.files`)."""
    return Importer(factory, options, now, by, originals).files(paths)
