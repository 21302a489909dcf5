"""The stable shapes `reminders list … --json` prints, and the tables it shows people.

JSON shapes (a list of objects; dates ISO 8601; session times local with their offset):
- actions:   plan, ref, theme, scr_refs[], action, lead_agencies[], unassigned, target_date
             (or null for Ongoing, TBC and TBA), progress, rag (the tracker's own, or ""),
             date_to_set ("TBC", "TBA" or ""), status (open | complete | withdrawn)
- mi-sheets: number, title, type, due (or null), published, contact {name, phone, email},
             audience, links[], delegate_limit, booking_url, source, sessions[] (references)
- sessions:  reference, mi_sheet, date, start, end, venue, delegate_limit, booking_url,
             status (scheduled | cancelled), sequence
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker.models import Action, BriefingSession, MISheet, Plan

Record = dict[str, Any]


def iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def actions(session: Session) -> list[Record]:
    query = (
        select(Action)
        .join(Plan)
        .options(selectinload(Action.leads), selectinload(Action.plan))
        .order_by(Plan.title, Action.id)
    )
    return [action_record(a) for a in session.scalars(query)]


def action_record(action: Action) -> Record:
    return {
        "plan": action.plan.title,
        "ref": action.ref,
        "theme": action.theme,
        "scr_refs": list(action.scr_refs),
        "action": action.text,
        "lead_agencies": [lead.name for lead in action.leads],
        "unassigned": action.unassigned,
        "target_date": iso(action.target_date),
        "progress": action.progress,
        "rag": action.rag,
        "date_to_set": action.date_to_set,
        "status": action.status.value,
    }


def mi_sheets(session: Session, tz: ZoneInfo) -> list[Record]:
    query = select(MISheet).options(selectinload(MISheet.sessions)).order_by(MISheet.number)
    return [sheet_record(s, tz) for s in session.scalars(query)]


def sheet_record(sheet: MISheet, tz: ZoneInfo) -> Record:
    published = sheet.published_at.astimezone(tz) if sheet.published_at else None
    return {
        "number": sheet.number,
        "title": sheet.title,
        "type": sheet.sheet_type.value,
        "due": iso(sheet.due_date),
        "published": iso(published),
        "contact": {
            "name": sheet.contact_name,
            "phone": sheet.contact_phone,
            "email": sheet.contact_email,
        },
        "audience": sheet.audience,
        "links": list(sheet.links),
        "delegate_limit": sheet.delegate_limit,
        "booking_url": sheet.booking_url,
        "source": sheet.source_file,
        "sessions": [s.reference for s in sheet.sessions],
    }


def sessions(session: Session, tz: ZoneInfo) -> list[Record]:
    query = (
        select(BriefingSession)
        .options(selectinload(BriefingSession.mi_sheet))
        .order_by(BriefingSession.date, BriefingSession.start_time, BriefingSession.reference)
    )
    return [session_record(s, tz) for s in session.scalars(query)]


def session_record(row: BriefingSession, tz: ZoneInfo) -> Record:
    return {
        "reference": row.reference,
        "mi_sheet": row.mi_sheet.number,
        "date": iso(row.date),
        "start": datetime.combine(row.date, row.start_time, tzinfo=tz).isoformat(),
        "end": datetime.combine(row.date, row.end_time, tzinfo=tz).isoformat(),
        "venue": row.venue,
        "delegate_limit": row.delegate_limit,
        "booking_url": row.booking_url,
        "status": row.status.value,
        "sequence": row.sequence,
    }


COLUMNS: dict[str, list[tuple[str, str]]] = {
    "actions": [
        ("Plan", "plan"),
        ("Ref", "ref"),
        ("Lead agency", "lead_agencies"),
        ("Target date", "target_date"),
        ("Status", "status"),
        ("Action", "action"),
    ],
    "mi-sheets": [
        ("MI", "number"),
        ("Type", "type"),
        ("Due", "due"),
        ("Title", "title"),
        ("Sessions", "sessions"),
    ],
    "sessions": [
        ("Reference", "reference"),
        ("MI", "mi_sheet"),
        ("Start", "start"),
        ("Venue", "venue"),
        ("Status", "status"),
        ("Seq", "sequence"),
    ],
}


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
