"""The console's imports page: documents uploaded, previewed, then imported; the history.

    GET  /console/imports                 the upload form and the import history
    POST /console/imports/preview         the uploaded files kept (owner-only, by SHA-256)
                                          and each previewed by a dry run: nothing stored
    POST /console/imports/columns         one document previewed again, read with the
                                          columns chosen for one of its tables (a document
                                          whose headings nobody named)
    POST /console/imports/again           the documents ticked previewed again, with the
                                          ladder's start chosen on the preview
    POST /console/imports/confirm         the documents ticked imported, each in its own
                                          transaction with its history line and console action
                                          (and a column map chosen, saved with its import)
    GET  /console/imports/{id}/original   the original file, downloaded byte for byte

Uploading and importing are the business manager's; the chair sees the history and may
download. The files go through the same `Importer` as `reminders import`. The preview ends
with the morning after (worker/delivery/morning.py): the documents rehearsed together, who
would hear what on the next working morning, and what to put right first; and with how the
ladder starts for items already overdue (as dated, or from today), offered from today for a
first import whose actions are mostly overdue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from worker.console.acts import keep
from worker.delivery.morning import Morning, morning_after
from worker.importers import (
    NOT_RECOGNISED,
    DocumentError,
    ImportedMeanwhileError,
    Importer,
    ImportResult,
    Received,
    document_tables,
)
from worker.importers.column_map import FIELDS, Table, TableMap
from worker.importers.columns import FIELD_LABELS
from worker.importers.history import display_name, keep_original, original
from worker.importers.preview import Entry, entries
from worker.importers.text import MAX_BYTES, one_line
from worker.models import ImportRecord, Plan
from worker.web.context import Web, page, problem, web_of
from worker.web.guard import (
    MAX_UPLOADS,
    Visitor,
    forbidden,
    form_lists,
    upload_form,
    visiting,
)
from worker.web.http import disposition

FormLists = dict[str, list[str]]
PAGE = "/console/imports"
MAX_FILES = MAX_UPLOADS
HISTORY_SHOWN = 100


@dataclass(frozen=True)
class Start:
    """How the ladder starts for items already overdue: as dated, or from the import day,
    its first step entering `stage`; and why the preview offered it."""

    today: bool = False
    stage: int = 1
    why: str = ""

    @property
    def stage_or_none(self) -> int | None:
        return self.stage if self.today else None

    @classmethod
    def chosen(cls, form: FormLists, top: int) -> Start | None:
        """The choice the form makes, if it makes one."""
        picked, at = first(form, "start"), first(form, "at-stage")
        if picked not in ("today", "as-dated"):
            return None
        stage = int(at) if at.isdigit() and 1 <= int(at) <= top else 1
        return cls(picked == "today", stage)

    @classmethod
    def offered(cls, session: Session, shown: list[Previewed], today: date) -> Start:
        """From today for a first import whose new actions are mostly overdue, else as dated."""
        targets = [f.new for p in shown for f in p.result.changes
                   if f.subject == "action" and f.field == "target_date" and f.new]  # fmt: skip
        late = sum(1 for t in targets if isinstance(t, date) and t < today)
        first_import = session.scalar(select(ImportRecord.id).limit(1)) is None
        if not first_import or not targets or late * 2 <= len(targets):
            return cls()
        why = (f"{late} of its {len(targets)} dated actions are past their target dates, and "
               "this is the first import: as dated, each would go straight up the ladder "
               "tomorrow")  # fmt: skip
        return cls(today=True, why=why)


@dataclass(frozen=True)
class Previewed:
    """One uploaded document as the preview shows it: for one whose tables nobody's headings
    name, its tables to choose columns in, and the columns chosen (in `table`) if any."""

    result: ImportResult
    entries: list[Entry]
    tables: list[Table] = field(default_factory=list)
    table: int | None = None
    picks: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""  # what is wrong with the columns chosen

    @property
    def mapped(self) -> bool:
        """Read with the columns chosen, which go with its Confirm."""
        return self.table is not None and not self.problem


async def imports(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    query = request.query_params.get("done", "")
    done = [int(n) for n in query.split(",") if n.isdigit() and len(n) < 9][:MAX_FILES]
    return await run_in_threadpool(show, web_of(request), who, done)


def show(web: Web, who: Visitor, done: list[int], error: str = "", status: int = 200) -> Response:
    with web.app.sessions() as session:
        rows = history(session)
        just = [row for n in done if (row := session.get(ImportRecord, n)) is not None]
        plans = list(session.scalars(select(Plan.title).order_by(Plan.title)))
    folder = web.app.settings.imports_dir  # a link only where there is a file to download
    kept = {row.id for row in rows if original(folder, row.sha256) is not None}
    return page("console/imports.html", status, who=who, rows=rows, done=just, error=error,
                plans=plans, kept=kept)  # fmt: skip


def history(session: Session) -> list[ImportRecord]:
    query = select(ImportRecord).order_by(ImportRecord.id.desc()).limit(HISTORY_SHOWN)
    return list(session.scalars(query))


async def preview(request: Request) -> Response:
    """Each uploaded file kept, then imported in a dry run: what it would do, per document."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    web = web_of(request)
    form = await upload_form(request, max_files=MAX_FILES, max_fields=10)
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    plan = one_line(str(form.get("plan") or ""))[:300] or None
    if not uploads:
        return show(web, who, [], "Choose one or more documents to upload.", 422)
    documents = [Received(display_name(f.filename or ""), await f.read()) for f in uploads]
    await form.close()

    def dry_run() -> Response:
        folder = web.app.settings.imports_dir
        for document in documents:
            if len(document.data) <= MAX_BYTES:  # a larger one is refused: never confirmed
                keep_original(folder, document.data)
        return preview_all(web, who, documents, plan, None)

    return await run_in_threadpool(dry_run)


def preview_all(web: Web, who: Visitor, documents: list[Received], plan: str | None,
                start: Start | None, form: FormLists | None = None,
                importer: Importer | None = None) -> Response:  # fmt: skip
    """Each document's dry run, then all of them rehearsed together for the morning after,
    with the ladder's start as chosen (or as offered); one document read with the columns
    the `form` chose for one of its tables, when it chose them. Each document is read once
    (by `importer`, when the request has begun reading)."""
    app = web.app
    importer = importer or previewing(web, who, plan)
    choice = Choice.of(importer, documents[0], form) if form and "table" in form else None
    if choice is not None and len(documents) == 1:
        importer = choice.applied(importer)
        shown = [choice.shown(named(importer, form, documents[0]).one(documents[0]))]
    else:
        shown = [previewed(named(importer, form, d), d) for d in documents]
    if start is None:
        with app.sessions() as session:
            start = Start.offered(session, shown, app.today())
    rehearsing = replace(importer, start_stage=start.stage_or_none)
    good = [named(rehearsing, form, d).parse(d)
            for d, p in zip(documents, shown, strict=True) if p.result.error is None]  # fmt: skip
    morning = rehearsing.rehearse(good, lambda s: morning_after(s, app, app.today()))
    return preview_page(who, shown, plan, morning, start)


def previewing(web: Web, who: Visitor, plan: str | None) -> Importer:
    """A preview's importer: a dry run naming untitled plans, reading for one upload."""
    return web.app.importer(who.person.email, plan, dry_run=True, if_untitled=True).upload()


async def again(request: Request) -> Response:
    """The documents ticked on the preview previewed again, with the ladder's start chosen."""
    found = await preview_form(request)
    if isinstance(found, Response):
        return found
    who, web, form = found
    plan = one_line(first(form, "plan"))[:300] or None

    def dry_run() -> Response:
        top = web.app.rules().ladder().top
        documents = ticked(web.app.settings.imports_dir, form)
        if not documents:
            return show(web, who, [], "Tick at least one document to preview.", 422)
        try:
            return preview_all(web, who, documents, plan, Start.chosen(form, top), form)
        except ValueError as exc:  # the columns chosen cannot be read
            return show(web, who, [], f"Nothing was previewed: {exc}", 422)

    return await run_in_threadpool(dry_run)


def named(importer: Importer, form: FormLists | None, document: Received) -> Importer:
    """`importer` naming the plan of `document` as the preview's name field says, when the
    business manager changed it there."""
    name = one_line(first(form or {}, f"name:{document.sha256}"))[:300]
    if not name or name == one_line(first(form or {}, f"was:{document.sha256}")):
        return importer
    options = replace(importer.options, plan=name, plan_if_untitled=False)
    return replace(importer, options=options)


def renamed_twice(form: FormLists, documents: list[Received]) -> str | None:
    """A name given to two of the documents, whose second would withdraw the first's
    actions; None when every name given is its own."""
    given = [one_line(first(form, f"name:{d.sha256}")) for d in documents
             if first(form, f"name:{d.sha256}") != first(form, f"was:{d.sha256}")]  # fmt: skip
    return next((name for name in given if name and given.count(name) > 1), None)


def previewed(importer: Importer, document: Received) -> Previewed:
    """The dry run of one document, with its tables when nobody's headings name them or
    they leave columns unread."""
    result = importer.one(document)
    unread = result.error is not None and result.error.reason == NOT_RECOGNISED
    found = document_tables(document, importer.options) if unread or unmapped(result) else []
    return Previewed(result, entries(result.changes), found)


def unmapped(result: ImportResult) -> bool:
    """Whether the document, read by the service's own headings, leaves columns unread: its
    tables are offered to choose them in."""
    return any(outcome.unmapped for outcome in result.outcomes)


def preview_page(who: Visitor, shown: list[Previewed], plan: str | None,
                 morning: Morning | None = None, start: Start | None = None,
                 ) -> Response:  # fmt: skip
    return page("console/import_preview.html", who=who, previewed=shown, plan=plan or "",
                fields=FIELDS, labels=FIELD_LABELS, morning=morning,
                start=start or Start())  # fmt: skip


async def columns(request: Request) -> Response:
    """One kept document previewed again, read with the columns chosen for one of its
    tables; a choice that cannot be read is shown beside the tables, with nothing read."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    web = web_of(request)
    form = await form_lists(request, max_fields=len(FIELDS) + 5)
    plan = one_line(first(form, "plan"))[:300] or None

    def dry_run() -> Response:
        document = kept(web.app.settings.imports_dir, first(form, "document"))
        if document is None:
            return show(web, who, [], "That document is no longer kept: upload it again.", 422)
        importer = previewing(web, who, plan)
        choice = Choice.of(importer, document, form)
        if choice is None:
            return show(web, who, [], "That document has no table to choose columns in.", 422)
        try:
            return preview_all(web, who, [document], plan, None, form, importer)
        except ValueError as exc:
            unread = importer.one(document)
            return preview_page(who, [choice.shown(unread, problem=str(exc))], plan)

    return await run_in_threadpool(dry_run)


@dataclass(frozen=True)
class Choice:
    """The columns the business manager chose for one of a document's tables."""

    tables: list[Table]
    table: int
    picks: dict[str, str]  # field -> the column's position, "none", or "" for no choice

    @classmethod
    def of(cls, importer: Importer, document: Received, form: FormLists) -> Choice | None:
        """The choice the form makes (in the first table if its own is not one); None when
        the document has no table."""
        try:
            found = document_tables(document, importer.options)
        except DocumentError:
            return None
        number = first(form, "table")
        at = int(number) if number.isdigit() and int(number) < len(found) else 0
        picks = {name: first(form, f"column-{name}") for name in FIELDS}
        return cls(found, at, picks) if found else None

    def applied(self, importer: Importer) -> Importer:
        """`importer` reading with the columns chosen; ValueError saying what is wrong."""
        return importer.read_by(TableMap.picked(self.tables[self.table], self.picks))

    def shown(self, result: ImportResult, problem: str = "") -> Previewed:
        return Previewed(result, entries(result.changes), self.tables, self.table, self.picks,
                         problem)  # fmt: skip


def first(form: dict[str, list[str]], name: str) -> str:
    return next(iter(form.get(name, [])), "")


async def preview_form(request: Request) -> tuple[Visitor, Web, FormLists] | Response:
    """The business manager's preview form, as Confirm and its morning-after button post it
    (documents, names, start, columns); a refusal for anyone else."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    form = await form_lists(request, max_fields=5 * MAX_FILES + len(FIELDS) + 7)
    return who, web_of(request), form


def ticked(folder: Path, form: FormLists) -> list[Received]:
    """The documents ticked on the preview that are still kept."""
    return [found for choice in form.get("document", [])[:MAX_FILES]
            if (found := kept(folder, choice)) is not None]  # fmt: skip


async def confirm(request: Request) -> Response:
    """The documents ticked on the preview imported, each in its own transaction."""
    found = await preview_form(request)
    if isinstance(found, Response):
        return found
    who, web, form = found
    plan = one_line(first(form, "plan"))[:300] or None

    def apply() -> Response:
        app = web.app
        documents = ticked(app.settings.imports_dir, form)
        if not documents:
            return show(web, who, [], "Nothing was imported: tick at least one document.", 422)
        doer = who.doer(app)

        def note(session: Session, result: ImportResult) -> None:
            keep(session, doer, "document imported", f"{result.name} ({result.sha256[:12]})")

        start = Start.chosen(form, app.rules().ladder().top) or Start()
        importer = replace(app.importer(who.person.email, plan, if_untitled=True,
                                        start_stage=start.stage_or_none).upload(),
                           also=note)  # fmt: skip
        if "table" in form:  # one document, read with the columns chosen for a table of it
            choice = Choice.of(importer, documents[0], form)
            try:
                if choice is None or len(documents) != 1:
                    raise ValueError("columns are chosen for one document with a table")
                importer = choice.applied(importer)
            except ValueError as exc:
                return show(web, who, [], f"Nothing was imported: {exc}", 422)
        twice = renamed_twice(form, documents)
        if twice:
            return show(web, who, [], f"Nothing was imported: two documents were named “{twice}”; "
                        "give each plan a name of its own.", 422)  # fmt: skip
        try:
            results = [named(importer, form, document).one(document) for document in documents]
        except ImportedMeanwhileError:  # the same Confirm pressed twice at once
            app.follow_change()
            return imported_meanwhile()
        app.follow_change()
        ids = ",".join(str(r.record_id) for r in results if r.record_id is not None)
        return RedirectResponse(f"{PAGE}?done={ids}#done", status_code=303)

    return await run_in_threadpool(apply)


def imported_meanwhile() -> Response:
    return problem(409, "Already imported",
                   "These documents were being imported by another request at the same moment "
                   "(Confirm pressed twice, perhaps). Each was imported once; nothing twice.",
                   "The import history on the Imports page shows each.")  # fmt: skip


def kept(folder: Path, choice: str) -> Received | None:
    """A document the preview kept, from its form value 'SHA-256 name'."""
    sha256, _, name = choice.partition(" ")
    path = original(folder, sha256)
    return Received(display_name(name), path.read_bytes()) if path else None


async def download(request: Request) -> Response:
    """The original file, as it was uploaded; never shown in the browser, only saved."""
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    web = web_of(request)
    number = request.path_params.get("id", "")
    if not number.isdigit() or len(number) > 9:
        return not_found()

    def find() -> tuple[ImportRecord | None, Path | None]:
        with web.app.sessions() as session:
            row = session.get(ImportRecord, int(number))
        folder = web.app.settings.imports_dir
        return row, original(folder, row.sha256) if row is not None else None

    row, path = await run_in_threadpool(find)
    if row is None or path is None:
        return not_found()
    response = FileResponse(path, media_type="application/octet-stream")
    response.headers["content-disposition"] = disposition(row.file_name)
    response.headers["cache-control"] = "no-store"
    response.headers["x-content-type-options"] = "nosniff"
    return response


def not_found() -> Response:
    return problem(404, "No such import", "There is no kept original for this import.")
