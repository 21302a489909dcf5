"""Writing parsed documents to the database: upserts that keep history and delete nothing.

Re-importing a document updates what changed and records each change; an action missing
from a re-imported plan becomes withdrawn, a session missing from its re-imported sheet
becomes cancelled, and every change to a session bumps its sequence (calendar clients use
it to replace their copy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.directory.leads import Leads
from worker.history import change_row
from worker.importers.documents import (
    ParsedAction,
    ParsedBriefing,
    ParsedPlan,
    ParsedSession,
    ParsedSessionList,
    ParsedSheet,
)
from worker.importers.errors import refuse
from worker.importers.status import achieved
from worker.models import (
    Action,
    ActionLead,
    ActionStatus,
    Base,
    BriefingSession,
    MISheet,
    Plan,
    Recommendation,
    SessionStatus,
    SheetType,
)


@dataclass
class Outcome:
    """What one document did: the counts the command line reports."""

    subject: str
    items: str = "actions:"
    retired_as: str = "withdrawn"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    unread: tuple[str, ...] = ()  # what the document seemed to say but could not be read
    notes: tuple[str, ...] = ()  # what it says that the business manager should know
    unmapped: tuple[str, ...] = ()  # columns no field reads, no column map having left them
    plan: str = ""  # a plan's name, as stored

    def described(self) -> str:
        """What the document did, in the words the command line and the history use."""
        counts = f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged"
        retired = f", {self.retired} {self.retired_as}" if self.retired else ""
        lines = "; ".join(self.unread)
        unread = f"; {len(self.unread)} session line(s) not read: {lines}" if lines else ""
        notes = "".join(f"; note: {note}" for note in self.notes)
        return f"{self.subject}: {self.items} {counts}{retired}{unread}{notes}"

    def count(self, changed: bool | None) -> None:
        if changed is None:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass(frozen=True)
class FieldChange:
    """One field of one row as an import sets it: what a preview shows."""

    subject: str  # action, mi_sheet, session
    key: str
    field: str  # "created" for a new row
    old: Any
    new: Any


@dataclass(frozen=True)
class Writer:
    """Applies field values to a row, recording each change with its source and time, and
    noting every value it sets (a new row's too) for the preview."""

    session: Session
    source: str
    now: datetime
    preview: bool = False  # note every value set, for a preview (a dry run)
    # How items already overdue start their ladder: None as dated, N from the import day.
    ladder_start_stage: int | None = None
    noted: list[FieldChange] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # written by `save`

    def compare(self, subject: str, key: str, stored: Any | None, values: Mapping[str, Any],
                name: object = None) -> dict[str, Any]:  # fmt: skip
        """What `values` change on the row as `stored`, each change recorded (history and
        preview). A new row (`stored` None) has one "created" record, of `name` (else its
        key), that stands for all its values (noted for the preview when not empty)."""
        if stored is None:
            self.record(subject, key, "created", None, key if name is None else name)
            for name, value in values.items():
                if value not in (None, "", []):
                    self.note(subject, key, name, None, value)
            return dict(values)
        differ = {name: v for name, v in values.items() if getattr(stored, name) != v}
        for name, value in differ.items():
            self.record(subject, key, name, getattr(stored, name), value)
        return differ

    def record(self, subject: str, key: str, field: str, old: Any, new: Any) -> None:
        """A change for the history (written by `save`, in one statement) and the preview."""
        self.history.append(change_row(subject, key, field, old, new, self.source, self.now))
        self.note(subject, key, field, old, new)

    def save(self) -> None:
        """Write the history recorded so far."""
        save_histories([self])

    def note(self, subject: str, key: str, field: str, old: Any, new: Any) -> None:
        if self.preview:
            self.noted.append(FieldChange(subject, key, field, old, new))


def save_histories(writers: Sequence[Writer]) -> None:
    """The history each of `writers` recorded so far, in their order, in one statement."""
    rows = [row for writer in writers for row in writer.history]
    if rows:
        writers[0].session.execute(insert(TABLES["changes"]), rows)
    for writer in writers:
        writer.history.clear()


def store_plan(writer: Writer, parsed: ParsedPlan) -> Outcome:
    """The plan's actions in a few statements: its existing rows read once, the difference
    worked out in memory, then new actions inserted, changed and withdrawn ones updated, and
    their lead agencies rewritten, each in one statement."""
    session = writer.session
    plan = find_plan(session, parsed.title)
    if plan is None:
        plan = Plan(title=parsed.title, source_file=writer.source, imported_at=writer.now)
        session.add(plan)
        session.flush()
    plan.source_file, plan.imported_at = writer.source, writer.now
    if plan.ladder_start_stage != writer.ladder_start_stage:
        writer.record("plan", plan.title, "ladder_start_stage", plan.ladder_start_stage,
                      writer.ladder_start_stage)  # fmt: skip
        plan.ladder_start_stage = writer.ladder_start_stage
    columns = [getattr(Action, name) for name in ACTION_FIELDS]
    query = select(Action.id, Action.ref, *columns).where(Action.plan_id == plan.id)
    write = PlanWrite(writer, plan, {row.ref: row for row in session.execute(query)})
    for item in parsed.actions:
        write.action(item)
    write.withdraw({item.ref for item in parsed.actions})
    write.execute()
    write.outcome.notes = tuple(f"not read: {heading}" for heading in parsed.unread_columns)
    if parsed.numbered:
        shown = ", ".join(parsed.numbered[:10]) + (" …" if len(parsed.numbered) > 10 else "")
        numbered = f"numbered by the service, the table having no Ref column: {shown}"
        write.outcome.notes = (numbered, *write.outcome.notes)
    if parsed.named_from not in ("title", "given"):
        guessed = f"named “{parsed.title}” after {parsed.named_from}: it has no title line"
        write.outcome.notes = (guessed, *write.outcome.notes)
    write.outcome.unmapped = () if parsed.mapped else parsed.unread_columns
    return write.outcome


def find_plan(session: Session, title: str) -> Plan | None:
    """The plan stored under `title`; two imports of one new plan may both find none, and
    the plans' unique title then refuses the second's insert."""
    return session.scalar(select(Plan).where(Plan.title == title))


@dataclass
class PlanWrite:
    """The statements one plan's import makes, gathered row by row, run together."""

    writer: Writer
    plan: Plan
    existing: dict[str, Any]  # ref -> the row as stored
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    leads: dict[str, str] = field(default_factory=dict)  # ref -> lead agencies, if written
    outcome: Outcome = field(default_factory=lambda: Outcome(""))

    def __post_init__(self) -> None:
        self.outcome.subject = f"plan {self.plan.title!r}"
        self.outcome.plan = self.plan.title

    def action(self, item: ParsedAction) -> None:
        row = self.existing.get(item.ref)
        key, values = f"{self.plan.title} {item.ref}", action_values(item, row.rag if row else "")
        differ = self.writer.compare("action", key, row, values, item.ref)
        now = self.writer.now
        if row is None:
            self.new.append({"plan_id": self.plan.id, "ref": item.ref, **values, "updated_at": now})
            self.leads[item.ref] = item.lead_agency
        elif differ:
            self.changed.append({"id": row.id, **differ, "updated_at": now})
            self.leads[item.ref] = item.lead_agency
        self.outcome.count(None if row is None else item.ref in self.leads)

    def withdraw(self, seen: set[str]) -> None:
        """Actions gone from the plan are withdrawn, never deleted."""
        for ref, row in self.existing.items():
            if ref not in seen and row.status != ActionStatus.WITHDRAWN:
                key, gone = f"{self.plan.title} {ref}", ActionStatus.WITHDRAWN
                self.writer.record("action", key, "status", row.status, gone)
                self.changed.append({"id": row.id, "status": gone, "updated_at": self.writer.now})
                self.outcome.retired += 1

    def execute(self) -> None:
        session = self.writer.session
        ids = {ref: row.id for ref, row in self.existing.items()}
        ids |= insert_actions(session, self.plan.id, self.new)
        if self.changed:
            session.execute(update(Action), self.changed)
        written = {ids[ref]: text for ref, text in self.leads.items()}
        write_leads(session, written, [ids[r] for r in self.leads if r in self.existing])


# The tables themselves: statements on them go straight to the database, without the ORM's
# bookkeeping per row, which costs more than the writing itself for thousands of rows.
TABLES = Base.metadata.tables
ACTION_FIELDS = ("theme", "scr_refs", "text", "lead_agency_text", "target_date", "progress",
                 "rag", "date_to_set", "status")  # fmt: skip


def insert_actions(session: Session, plan_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new actions in one executemany, then read their ids by ref: cheaper than
    RETURNING, whose one statement per thousand rows the PostgreSQL driver parses whole."""
    if not rows:
        return {}
    table = TABLES["actions"]
    session.execute(insert(table), rows)
    new = {row["ref"] for row in rows}
    query = select(table.c.ref, table.c.id).where(table.c.plan_id == plan_id)
    return {ref: id_ for ref, id_ in session.execute(query) if ref in new}


def write_leads(session: Session, written: dict[int, str], replaced: list[int]) -> None:
    """Each written action's lead agencies ("Health/NSCB" gives two), replacing its old."""
    if replaced:
        session.execute(delete(ActionLead).where(ActionLead.action_id.in_(replaced)))
    leads = Leads.of(session) if written else None
    rows = [{"action_id": action_id, "position": i, "name": name,
             "agency_id": leads.agency_of(name) if leads else None}
            for action_id, text in written.items()
            for i, name in enumerate(lead_names(text))]  # fmt: skip
    if rows:
        session.execute(insert(TABLES["action_leads"]), rows)


def action_values(item: ParsedAction, kept_rag: str = "") -> dict[str, Any]:
    """An action's fields: complete when its RAG or Status (as its key reads it) or its
    Progress says it is achieved (worker/importers/status.py); a document that keeps no RAG
    leaves `kept_rag`."""
    done = achieved(kept_rag if item.rag is None else item.rag, item.progress)
    return {
        "theme": item.theme,
        "scr_refs": list(item.scr_refs),
        "text": item.text,
        "lead_agency_text": item.lead_agency,
        "target_date": item.target_date,
        "progress": item.progress,
        "date_to_set": item.date_to_set,
        "status": ActionStatus.COMPLETE if done else ActionStatus.OPEN,
    } | ({} if item.rag is None else {"rag": item.rag})  # a document without one keeps it


def lead_names(cell: str) -> list[str]:
    """'Health/NSCB' names two lead agencies."""
    return [part.strip() for part in cell.split("/") if part.strip()]


def store_sheet(writer: Writer, parsed: ParsedSheet) -> Outcome:
    """The sheet's row, then its sessions (`store_sheets` of one)."""
    [outcome] = store_sheets([(writer, parsed)])
    return outcome


class OverlapError(Exception):
    """Sheets to be stored together touch one another's rows, so their order would matter:
    store them one at a time instead. Raised before anything is written."""


def store_sheets(sheets: Sequence[tuple[Writer, ParsedSheet]]) -> list[Outcome]:
    """Many sheets (each with the writer of its own document) in a few statements whatever
    their number, each stored as if alone, in order: their rows and sessions read at once,
    the differences worked out in memory, then written together. OverlapError when two of
    them would touch the same row."""
    session = sheets[0][0].session
    numbers = [parsed.number for _, parsed in sheets]
    if len(set(numbers)) < len(numbers):
        raise OverlapError("an MI Number twice")
    table = TABLES["mi_sheets"]
    query = select(table.c.id, *[table.c[n] for n in SHEET_FIELDS], table.c.number)
    found = {row.number: row for row in session.execute(query.where(table.c.number.in_(numbers)))}
    refs = [item.reference for _, parsed in sheets for item in parsed.sessions]
    announced = [row.id for row in found.values()]
    write = SessionsWrite(found_sessions(session, refs, "sheet", announced))
    check_apart(sheets, found, write.found)
    ids, outcomes = write_sheet_rows(sheets, found)
    for (writer, parsed), sheet_id, outcome in zip(sheets, ids, outcomes, strict=True):
        rows = [(sheet_id, s, parsed.delegate_limit, parsed.booking_url) for s in parsed.sessions]
        write.document(writer, outcome, rows, "sheet", [sheet_id])
    write.execute(session)
    return outcomes


def check_apart(sheets: Sequence[tuple[Writer, ParsedSheet]], found: Mapping[str, Any],
                sessions: list[Any]) -> None:  # fmt: skip
    """OverlapError if a session is named by two of `sheets`, or named by one and announced
    by another (which would cancel it)."""
    owner: dict[str, int] = {}
    for k, (_, parsed) in enumerate(sheets):
        for item in parsed.sessions:
            if owner.setdefault(item.reference, k) != k:
                raise OverlapError(f"session {item.reference} on two sheets")
    by_id = {found[p.number].id: k for k, (_, p) in enumerate(sheets) if p.number in found}
    for row in sessions:
        mine = {owner[row.reference]} if row.reference in owner else set()
        if row.origin == "sheet" and row.mi_sheet_id in by_id:
            mine.add(by_id[row.mi_sheet_id])
        if len(mine) > 1:
            raise OverlapError(f"session {row.reference} moves between sheets")


def write_sheet_rows(
    sheets: Sequence[tuple[Writer, ParsedSheet]], found: Mapping[str, Any]
) -> tuple[list[int], list[Outcome]]:
    """Each sheet's row inserted or updated (new ones in one statement); their ids, in order,
    and what each did so far."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    outcomes = []
    for writer, parsed in sheets:
        row = found.get(parsed.number)
        outcome = Outcome(f"MI sheet {parsed.number}", "sessions:", "cancelled",
                          unread=parsed.unread, notes=parsed.notes)  # fmt: skip
        values = sheet_values(parsed, writer)
        differ = writer.compare("mi_sheet", parsed.number, row, values)
        if row is None:
            new.append({"number": parsed.number, **values, "updated_at": writer.now})
            outcome.subject += " (new)"
        elif differ:
            changed.append({"id": row.id, **differ, "updated_at": writer.now})
            outcome.subject += " (updated)"
        outcomes.append(outcome)
    session, table = sheets[0][0].session, TABLES["mi_sheets"]
    returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    made = iter(session.execute(returning, new).scalars().all() if new else [])
    if changed:
        session.execute(update(MISheet), changed)
    ids = [found[p.number].id if p.number in found else next(made) for _, p in sheets]
    return ids, outcomes


SHEET_FIELDS = ("title", "sheet_type", "due_date", "published_at", "contact_name",
                "contact_phone", "contact_email", "audience", "links", "delegate_limit",
                "booking_url", "source_file", "unread_sessions",
                "ladder_start_stage")  # fmt: skip


def sheet_values(parsed: ParsedSheet, writer: Writer) -> dict[str, Any]:
    return {
        "title": parsed.title,
        "sheet_type": SheetType(parsed.sheet_type),
        "due_date": parsed.due_date,
        "published_at": parsed.published_at,
        "contact_name": parsed.contact_name,
        "contact_phone": parsed.contact_phone,
        "contact_email": parsed.contact_email,
        "audience": parsed.audience,
        "links": list(parsed.links),
        "delegate_limit": parsed.delegate_limit,
        "booking_url": parsed.booking_url,
        "source_file": writer.source,
        "unread_sessions": list(parsed.unread),
        "ladder_start_stage": writer.ladder_start_stage,
    }


def store_session_list(writer: Writer, parsed: ParsedSessionList, origin: str) -> Outcome:
    numbers = {number for number, _ in parsed.sessions}
    query = select(MISheet.number, MISheet.id).where(MISheet.number.in_(numbers))
    sheets: dict[str, int] = {number: id_ for number, id_ in writer.session.execute(query)}
    for number, item in parsed.sessions:
        if number not in sheets:
            reason = "no MI sheet with this number has been imported"
            raise refuse(reason, item.line, "mi_number", number)
    outcome = Outcome(f"MI sheets {', '.join(sorted(numbers))}", "sessions:", "cancelled")
    rows = [(sheets[n], s, s.delegate_limit, s.booking_url) for n, s in parsed.sessions]
    store_sessions(writer, outcome, rows, origin, list(sheets.values()))
    return outcome


SessionRow = tuple[int, ParsedSession, int | None, str | None]  # the sheet's id, the session
SESSION_FIELDS = ("mi_sheet_id", "date", "start_time", "end_time", "venue", "delegate_limit",
                  "booking_url", "status", "origin")  # fmt: skip


def store_sessions(
    writer: Writer, outcome: Outcome, rows: list[SessionRow], origin: str, sheets: list[int]
) -> None:
    """Upsert sessions by reference, then cancel those `origin` had announced and no longer
    does; every change to a session bumps its sequence. A few statements whatever the count."""
    refs = [item.reference for _, item, _, _ in rows]
    write = SessionsWrite(found_sessions(writer.session, refs, origin, sheets))
    write.document(writer, outcome, rows, origin, sheets)
    write.execute(writer.session)


SESSION_COLUMNS = (*SESSION_FIELDS, "reference", "sequence")


def found_sessions(session: Session, refs: list[str], origin: str, sheets: list[int]) -> list[Any]:
    """The sessions named by `refs`, and all that `origin` had announced for `sheets`."""
    table = TABLES["briefing_sessions"]
    columns = [table.c[name] for name in SESSION_COLUMNS]
    announced = and_(table.c.mi_sheet_id.in_(sheets), table.c.origin == origin)
    query = select(table.c.id, *columns).where(or_(table.c.reference.in_(refs), announced))
    return list(session.execute(query))


@dataclass
class SessionsWrite:
    """The statements storing sessions make, gathered document by document, run together."""

    found: list[Any]  # the rows read (`found_sessions`) for every document
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    def document(self, writer: Writer, outcome: Outcome, rows: list[SessionRow], origin: str,
                 sheets: list[int]) -> None:  # fmt: skip
        """One document's sessions compared with those stored, its changes recorded."""
        wanted = {item.reference for _, item, _, _ in rows}
        existing = {row.reference: row for row in self.found if row.reference in wanted}
        for sheet_id, item, limit, url in rows:
            values = session_values(sheet_id, item, limit, url, origin)
            row = existing.get(item.reference)
            differ = writer.compare("session", item.reference, row, values)
            if row is None:
                self.new.append({"reference": item.reference, **values, "sequence": 0,
                                 "created_at": writer.now, "updated_at": writer.now})  # fmt: skip
            elif differ:
                self.changed.append(changed_session(writer, row, differ))
            outcome.count(None if row is None else bool(differ))
        gone = [row for row in self.found if row.reference not in existing
                and row.mi_sheet_id in sheets and row.origin == origin]  # fmt: skip
        for row in gone:
            if row.status != SessionStatus.CANCELLED:
                cancelled = writer.compare("session", row.reference, row, CANCELLED)
                self.changed.append(changed_session(writer, row, cancelled))
                outcome.retired += 1

    def execute(self, session: Session) -> None:
        if self.new:
            session.execute(insert(TABLES["briefing_sessions"]), self.new)
        if self.changed:
            session.execute(update(BriefingSession), self.changed)


def session_values(
    sheet_id: int, item: ParsedSession, limit: int | None, url: str | None, origin: str
) -> dict[str, Any]:
    return {
        "mi_sheet_id": sheet_id,
        "date": item.date,
        "start_time": item.start,
        "end_time": item.end,
        "venue": item.venue,
        "delegate_limit": limit,
        "booking_url": url,
        "status": SessionStatus.SCHEDULED,
        "origin": origin,
    }


CANCELLED = {"status": SessionStatus.CANCELLED}


def changed_session(writer: Writer, row: Any, differ: dict[str, Any]) -> dict[str, Any]:
    """The update of a session that changed (or disappeared: cancelled, kept so calendars
    strike it out), with its sequence bumped: calendars replace their copy of the event."""
    writer.note("session", row.reference, "sequence", row.sequence, row.sequence + 1)
    return {"id": row.id, **differ, "sequence": row.sequence + 1, "updated_at": writer.now}


def store_briefing(writer: Writer, parsed: ParsedBriefing) -> Outcome:
    """A review's recommendations, upserted by number; one gone from the briefing is
    withdrawn (and so owes nothing), never deleted."""
    session = writer.session
    query = select(Recommendation).where(Recommendation.review == parsed.review)
    existing = {r.number: r for r in session.scalars(query)}
    outcome = Outcome(f"learning briefing of {parsed.review!r}", "recommendations:")
    for item in parsed.recommendations:
        row, key = existing.get(item.number), f"{parsed.review} recommendation {item.number}"
        values = {"text": item.text, "withdrawn": False, "source_file": writer.source}
        differ = writer.compare("recommendation", key, row, values, item.number)
        if row is None:
            session.add(Recommendation(review=parsed.review, number=item.number, **values,
                                       imported_at=writer.now, updated_at=writer.now))  # fmt: skip
        else:
            set_changed(row, differ, writer.now)
        outcome.count(None if row is None else bool(differ))
    seen = {item.number for item in parsed.recommendations}
    for number, row in existing.items():
        if number not in seen and not row.withdrawn:
            key = f"{parsed.review} recommendation {number}"
            set_changed(
                row, writer.compare("recommendation", key, row, {"withdrawn": True}), writer.now
            )
            outcome.retired += 1
    return outcome


def set_changed(row: Any, differ: Mapping[str, Any], now: datetime) -> None:
    """Set what changed on an ORM row, and when."""
    for name, value in differ.items():
        setattr(row, name, value)
    if differ:
        row.updated_at = now
