"""Writing parsed documents to the database: upserts that keep history and delete nothing.

Re-importing a document updates what changed and records each change; an action missing
from a re-imported plan becomes withdrawn, a session missing from its re-imported sheet
becomes cancelled, and every change to a session bumps its sequence (calendar clients use
it to replace their copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.directory import fold
from worker.history import record_change
from worker.importers.documents import (
    ParsedAction,
    ParsedBriefing,
    ParsedPlan,
    ParsedSession,
    ParsedSessionList,
    ParsedSheet,
)
from worker.importers.errors import refuse
from worker.models import (
    Action,
    ActionLead,
    ActionStatus,
    AgencyAlias,
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
    noted: list[FieldChange] = field(default_factory=list)

    def apply(
        self, row: Any, subject: str, key: str, values: Mapping[str, Any], new_row: bool = False
    ) -> bool:
        """Set the values that differ; a new row's one "created" record stands for them all."""
        changed = False
        for name, new in values.items():
            old = getattr(row, name)
            if old != new:
                if new_row:
                    self.note(subject, key, name, None, new)
                else:
                    self.record(subject, key, name, old, new)
                setattr(row, name, new)
                changed = True
        return changed

    def record(self, subject: str, key: str, field: str, old: Any, new: Any) -> None:
        record_change(self.session, subject, key, field, old, new, self.source, self.now)
        self.note(subject, key, field, old, new)

    def note(self, subject: str, key: str, field: str, old: Any, new: Any) -> None:
        self.noted.append(FieldChange(subject, key, field, old, new))


def store_plan(writer: Writer, parsed: ParsedPlan) -> Outcome:
    session = writer.session
    plan = session.scalar(select(Plan).where(Plan.title == parsed.title))
    if plan is None:
        plan = Plan(title=parsed.title, source_file=writer.source, imported_at=writer.now)
        session.add(plan)
        session.flush()
    plan.source_file, plan.imported_at = writer.source, writer.now
    outcome = Outcome(f"plan {parsed.title!r}")
    existing = {a.ref: a for a in plan.actions}
    aliases = alias_map(session)
    for item in parsed.actions:
        outcome.count(store_action(writer, plan, existing.get(item.ref), item, aliases))
    seen = {item.ref for item in parsed.actions}
    for ref, action in existing.items():
        if ref not in seen and action.status is not ActionStatus.WITHDRAWN:
            writer.apply(
                action, "action", f"{plan.title} {ref}", {"status": ActionStatus.WITHDRAWN}
            )
            action.updated_at = writer.now
            outcome.retired += 1
    return outcome


def alias_map(session: Session) -> dict[str, int]:
    return {a.alias: a.agency_id for a in session.scalars(select(AgencyAlias))}


def store_action(
    writer: Writer,
    plan: Plan,
    action: Action | None,
    item: ParsedAction,
    aliases: dict[str, int],
) -> bool | None:
    """Create or update one action; None when created, else whether anything changed."""
    created = action is None
    if action is None:
        action = Action(plan=plan, ref=item.ref, status=ActionStatus.OPEN)
        writer.session.add(action)
        writer.record("action", f"{plan.title} {item.ref}", "created", None, item.ref)
    key = f"{plan.title} {item.ref}"
    changed = writer.apply(action, "action", key, action_values(item), new_row=created)
    if changed:
        action.updated_at = writer.now
        action.leads = [
            ActionLead(position=i, name=name, agency_id=aliases.get(fold(name)))
            for i, name in enumerate(lead_names(item.lead_agency))
        ]
    return None if created else changed


COMPLETE_RAG = ("complete", "completed")


def action_values(item: ParsedAction) -> dict[str, Any]:
    """An action's fields: complete when its Progress starts "Complete" or its RAG or
    Status says Complete (or Completed)."""
    done = item.progress.casefold().startswith("complete") or (
        item.rag.casefold().strip(". ") in COMPLETE_RAG
    )
    return {
        "theme": item.theme,
        "scr_refs": list(item.scr_refs),
        "text": item.text,
        "lead_agency_text": item.lead_agency,
        "target_date": item.target_date,
        "progress": item.progress,
        "rag": item.rag,
        "date_to_set": item.date_to_set,
        "status": ActionStatus.COMPLETE if done else ActionStatus.OPEN,
    }


def lead_names(cell: str) -> list[str]:
    """'Health/NSCB' names two lead agencies."""
    return [part.strip() for part in cell.split("/") if part.strip()]


def store_sheet(writer: Writer, parsed: ParsedSheet) -> Outcome:
    session = writer.session
    sheet = session.scalar(select(MISheet).where(MISheet.number == parsed.number))
    created = sheet is None
    outcome = Outcome(f"MI sheet {parsed.number}", "sessions:", "cancelled")
    if sheet is None:
        sheet = MISheet(number=parsed.number, links=[])
        session.add(sheet)
        writer.record("mi_sheet", parsed.number, "created", None, parsed.number)
    values = sheet_values(parsed, writer.source)
    if writer.apply(sheet, "mi_sheet", parsed.number, values, new_row=created):
        sheet.updated_at = writer.now
        outcome.subject += " (new)" if created else " (updated)"
    session.flush()
    sessions = [(s, parsed.delegate_limit, parsed.booking_url) for s in parsed.sessions]
    store_sessions(writer, outcome, [(sheet, *s) for s in sessions], "sheet", [sheet])
    return outcome


def sheet_values(parsed: ParsedSheet, source: str) -> dict[str, Any]:
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
        "source_file": source,
    }


def store_session_list(writer: Writer, parsed: ParsedSessionList, origin: str) -> Outcome:
    session = writer.session
    numbers = {number for number, _ in parsed.sessions}
    sheets = {
        s.number: s for s in session.scalars(select(MISheet).where(MISheet.number.in_(numbers)))
    }
    for number, item in parsed.sessions:
        if number not in sheets:
            reason = "no MI sheet with this number has been imported"
            raise refuse(reason, item.line, "mi_number", number)
    outcome = Outcome(f"MI sheets {', '.join(sorted(numbers))}", "sessions:", "cancelled")
    rows = [(sheets[n], s, s.delegate_limit, s.booking_url) for n, s in parsed.sessions]
    store_sessions(writer, outcome, rows, origin, sheets.values())
    return outcome


SessionRow = tuple[MISheet, ParsedSession, int | None, str | None]


def store_sessions(
    writer: Writer,
    outcome: Outcome,
    rows: list[SessionRow],
    origin: str,
    sheets: Iterable[MISheet],
) -> None:
    """Upsert sessions by reference, then cancel those `origin` had announced and no longer does."""
    refs = [item.reference for _, item, _, _ in rows]
    query = select(BriefingSession).where(BriefingSession.reference.in_(refs))
    existing = {s.reference: s for s in writer.session.scalars(query)}
    for sheet, item, limit, url in rows:
        found = existing.get(item.reference)
        outcome.count(store_session(writer, sheet, found, item, limit, url, origin))
    writer.session.flush()
    gone = select(BriefingSession).where(
        BriefingSession.mi_sheet_id.in_([sheet.id for sheet in sheets]),
        BriefingSession.origin == origin,
        BriefingSession.reference.not_in(refs),
    )
    for row in writer.session.scalars(gone):
        outcome.retired += cancel(writer, row)


def store_session(
    writer: Writer,
    sheet: MISheet,
    row: BriefingSession | None,
    item: ParsedSession,
    limit: int | None,
    url: str | None,
    origin: str,
) -> bool | None:
    created = row is None
    if row is None:
        row = BriefingSession(reference=item.reference, sequence=0, created_at=writer.now)
        writer.session.add(row)
        writer.record("session", item.reference, "created", None, item.reference)
    values = {
        "mi_sheet_id": sheet.id,
        "date": item.date,
        "start_time": item.start,
        "end_time": item.end,
        "venue": item.venue,
        "delegate_limit": limit,
        "booking_url": url,
        "status": SessionStatus.SCHEDULED,
        "origin": origin,
    }
    changed = writer.apply(row, "session", item.reference, values, new_row=created)
    if changed:
        row.updated_at = writer.now
        if not created:
            bump(writer, row)
    return None if created else changed


def bump(writer: Writer, row: BriefingSession) -> None:
    """A new sequence number: calendars replace their copy of the event."""
    writer.note("session", row.reference, "sequence", row.sequence, row.sequence + 1)
    row.sequence += 1


def cancel(writer: Writer, row: BriefingSession) -> int:
    """Keep a session that disappeared, marked cancelled, so calendars strike it out."""
    if row.status is SessionStatus.CANCELLED:
        return 0
    writer.apply(row, "session", row.reference, {"status": SessionStatus.CANCELLED})
    bump(writer, row)
    row.updated_at = writer.now
    return 1


def store_briefing(writer: Writer, parsed: ParsedBriefing) -> Outcome:
    """A review's recommendations, upserted by number; one gone from the briefing is
    withdrawn (and so owes nothing), never deleted."""
    session = writer.session
    query = select(Recommendation).where(Recommendation.review == parsed.review)
    existing = {r.number: r for r in session.scalars(query)}
    outcome = Outcome(f"learning briefing of {parsed.review!r}", "recommendations:")
    for item in parsed.recommendations:
        row = existing.get(item.number)
        key = f"{parsed.review} recommendation {item.number}"
        created = row is None
        if row is None:
            row = Recommendation(review=parsed.review, number=item.number, withdrawn=False,
                                 imported_at=writer.now)  # fmt: skip
            session.add(row)
            writer.record("recommendation", key, "created", None, item.number)
        values = {"text": item.text, "withdrawn": False, "source_file": writer.source}
        changed = writer.apply(row, "recommendation", key, values, new_row=created)
        if changed:
            row.updated_at = writer.now
        outcome.count(None if created else changed)
    seen = {item.number for item in parsed.recommendations}
    for number, row in existing.items():
        if number not in seen and not row.withdrawn:
            key = f"{parsed.review} recommendation {number}"
            writer.apply(row, "recommendation", key, {"withdrawn": True})
            row.updated_at = writer.now
            outcome.retired += 1
    return outcome
