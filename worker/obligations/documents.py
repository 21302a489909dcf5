"""Which obligations the imported documents create, kept in step with each import.

* A dated CAP action: one obligation per lead agency ("Health/NSCB" escalates in both). Its
  identity is the lead as the document writes it ("DCS"): the directory says which agency
  that is, and a directory change (an alias, a renamed agency, a moved contact) changes only
  the obligation's agency, never whether it exists, its stage or its history; an agency given
  by hand (reassigned) stays.
* An Ongoing action: its progress must be updated every `ongoing_review_weeks`; the review
  date is the obligation's target, and a progress update moves it on.
* An MI sheet with a To Be Completed By date: one obligation per establishment in the group
  its audience maps to; with no group, one owned by the sheet's LA contact.
* A lead-agency name the directory does not know: an "unassigned" obligation for the
  business manager, whatever its date.
* A review's recommendation (from its learning briefing) with no CAP action linked: the
  business manager's, due `recommendation_action_days` working days after its import.

An item that is already overdue when its document first brings it in keeps its target as
written; when the import chose to start the ladder on the import day (a plan the partnership
already had), the item gets a ladder start on the day it is made, and nothing before it is
entered.

Documents drive the events they imply: a target date changed in a re-imported document is a
revised target, "Complete" progress or an achieved status completes (on the day the document
writes, when nothing on the item's record comes after it), an action withdrawn or a lead
removed from it, or an establishment no longer in the audience, ends the obligation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session, selectinload

from worker.directory.names import fold
from worker.importers.status import achieved_on
from worker.models import (
    Action,
    ActionLead,
    ActionStatus,
    Agency,
    Change,
    DocumentSync,
    EstablishmentGroup,
    MISheet,
    Obligation,
    ObligationEvent,
    Recommendation,
    StageChange,
    group_members,
)
from worker.obligations.events import DOCUMENT, completed, last_event, record_event
from worker.rules.ladder import Rules


@dataclass(frozen=True)
class Spec:
    """An obligation as the documents describe it today."""

    key: str
    kind: str
    target: date | None
    action_id: int | None = None
    mi_sheet_id: int | None = None
    agency_id: int | None = None
    establishment_id: int | None = None
    lead_name: str | None = None
    document_lead: str | None = None
    complete: bool = False
    recommendation_id: int | None = None
    why_complete: str = "progress recorded as complete in the documents"
    completed_on: date | None = None  # the day the documents write it was achieved
    start_stage: int | None = None  # the import's choice: None as dated, N from its day


def action_specs(session: Session, rules: Rules, tz: ZoneInfo) -> Iterator[Spec]:
    query = select(Action).options(selectinload(Action.leads), selectinload(Action.plan))
    active = query.where(Action.status != ActionStatus.WITHDRAWN)
    for action in session.scalars(active):
        target = action.target_date or review_date(session, action, rules, tz)
        kind = "action" if action.target_date else "ongoing_review"
        done = action.status is ActionStatus.COMPLETE
        achieved = achieved_on(action.rag, action.progress) if done else None
        for lead in action.leads:
            named = hashlib.sha256(fold(lead.name).encode()).hexdigest()[:12]
            key = f"action:{action.id}:lead:{named}"
            unassigned = lead.agency_id is None
            yield Spec(
                key, "unassigned" if unassigned else kind, target, action.id,
                agency_id=lead.agency_id, lead_name=lead.name if unassigned else None,
                document_lead=lead.name, complete=done, completed_on=achieved,
                start_stage=action.plan.ladder_start_stage,
            )  # fmt: skip


def identity(action_id: int | None, document_lead: str | None, key: str) -> str:
    """What makes an obligation the same one from one sync to the next: an action's lead as
    the document writes it, whichever agency it resolves to; otherwise its key."""
    if action_id is not None and document_lead is not None:
        return f"action:{action_id}:{fold(document_lead)}"
    return key


def review_date(session: Session, action: Action, rules: Rules, tz: ZoneInfo) -> date:
    """When an Ongoing action's progress must next be updated."""
    key = f"{action.plan.title} {action.ref}"
    last = session.scalar(
        select(func.max(Change.changed_at)).where(
            Change.subject == "action",
            Change.subject_key == key,
            Change.field.in_(("created", "progress")),
        )
    )
    updated: datetime = last or action.updated_at
    return updated.astimezone(tz).date() + timedelta(weeks=rules.ongoing_review_weeks)


def sheet_specs(session: Session, rules: Rules) -> Iterator[Spec]:
    groups = {g.name: g for g in session.scalars(select(EstablishmentGroup))}
    for sheet in session.scalars(select(MISheet).where(MISheet.due_date.is_not(None))):
        group = groups.get(rules.audiences.get(sheet.audience or "", ""))
        if group is None or not group.members:
            yield Spec(f"mi:{sheet.id}:la", "mi_sheet", sheet.due_date, mi_sheet_id=sheet.id,
                       start_stage=sheet.ladder_start_stage)  # fmt: skip
            continue
        for place in group.members:
            key = f"mi:{sheet.id}:establishment:{place.id}"
            yield Spec(key, "mi_sheet", sheet.due_date, mi_sheet_id=sheet.id,
                       establishment_id=place.id, start_stage=sheet.ladder_start_stage)  # fmt: skip


def recommendation_specs(session: Session, rules: Rules, tz: ZoneInfo) -> Iterator[Spec]:
    """A recommendation owes an action from `recommendation_action_days` working days after
    its briefing was imported; linking one to it completes it."""
    calendar, days = rules.calendar(), rules.recommendation_action_days
    query = select(Recommendation).options(selectinload(Recommendation.action))
    for row in session.scalars(query.where(Recommendation.withdrawn.is_(False))):
        imported = row.imported_at.astimezone(tz).date()
        answered = f"answered by action {row.action.ref}" if row.action else ""
        yield Spec(
            f"recommendation:{row.id}", "recommendation", calendar.add(imported, days),
            lead_name="business manager", complete=row.action is not None,
            recommendation_id=row.id, why_complete=answered,
        )  # fmt: skip


def keep_in_step(session: Session, rules: Rules, tz: ZoneInfo, today: date) -> bool:
    """`sync_obligations`, when anything it reads moved since the last sync; True if it ran.

    On most days nothing did, and the sync's pass over every document is skipped.
    """
    if signature(session, rules) == last_signature(session):
        return False
    sync_obligations(session, rules, tz, today)
    session.flush()
    session.add(DocumentSync(day=today, signature=signature(session, rules)))
    session.flush()
    return True


def last_signature(session: Session) -> str | None:
    query = select(DocumentSync.signature).order_by(DocumentSync.id.desc()).limit(1)
    return session.scalar(query)


def signature(session: Session, rules: Rules) -> str:
    """A digest of everything the sync reads, from aggregates the database answers alone.

    Importers write a `changes` row for every field they change and stamp what they create;
    the directory re-resolves lead agencies and rewrites group members; people and documents
    add events. Each of these moves one of the figures below.
    """
    lead_agencies = func.sum(ActionLead.id * func.coalesce(ActionLead.agency_id, 0))
    member = group_members.c.group_id * 1_000_003 + group_members.c.establishment_id
    figures: list[Executable] = [
        select(func.count(Action.id), func.max(Action.updated_at)),
        select(func.count(ActionLead.id), func.max(ActionLead.id), lead_agencies),
        select(func.count(MISheet.id), func.max(MISheet.updated_at)),
        select(func.count(), func.sum(member)).select_from(group_members),
        select(func.max(Change.id)),
        select(func.max(ObligationEvent.id)),
        select(
            func.count(Recommendation.id),
            func.max(Recommendation.updated_at),
            func.sum(func.coalesce(Recommendation.action_id, 0)),
        ),
        select(func.count(Obligation.id), func.max(Obligation.id)),
    ]
    seen = [[str(v) for v in session.execute(query).one()] for query in figures]
    groups = session.execute(select(EstablishmentGroup.id, EstablishmentGroup.name)).all()
    reads = {"audiences": dict(rules.audiences), "review_weeks": rules.ongoing_review_weeks,
             "recommendation_days": rules.recommendation_action_days,
             "closure_days": sorted(map(str, rules.closure_days))}  # fmt: skip
    text = json.dumps([seen, sorted(map(list, groups)), reads], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def sync_obligations(session: Session, rules: Rules, tz: ZoneInfo, today: date) -> None:
    """Create, retarget, complete and end obligations to match the documents."""
    every = [*action_specs(session, rules, tz), *sheet_specs(session, rules),
             *recommendation_specs(session, rules, tz)]  # fmt: skip
    specs: dict[str, Spec] = {}
    for spec in every:  # a lead written twice in one action is one obligation
        specs.setdefault(identity(spec.action_id, spec.document_lead, spec.key), spec)
    query = select(Obligation).options(selectinload(Obligation.events))
    existing: dict[str, Obligation] = {}
    for row in session.scalars(query.order_by(Obligation.id)):  # the open one of any twins
        same = identity(row.action_id, row.document_lead, row.key)
        if same not in existing or completed(existing[same]):
            existing[same] = row
    for same, spec in specs.items():
        found = existing.get(same)
        if found is None and not spec.complete:
            session.add(new_obligation(spec, today))
        elif found is not None:
            follow(session, found, spec, today)
    for same, row in existing.items():
        if same not in specs and row.resolved_on is None and not completed(row):
            record_event(row, "completed", today, DOCUMENT, ended_because(row))


def ended_because(row: Obligation) -> str:
    """Why the documents no longer require `row`: its school closed, or they dropped it."""
    place = row.establishment
    if place is not None and place.closed_on is not None:
        return f"{place.name} closed on {place.closed_on.isoformat()}"
    return "no longer required by the documents"


def new_obligation(spec: Spec, today: date) -> Obligation:
    row = Obligation(
        key=spec.key,
        kind=spec.kind,
        target_date=spec.target,
        action_id=spec.action_id,
        mi_sheet_id=spec.mi_sheet_id,
        agency_id=spec.agency_id,
        establishment_id=spec.establishment_id,
        lead_name=spec.lead_name,
        document_lead=spec.document_lead,
        recommendation_id=spec.recommendation_id,
        stage=-1,
    )
    if spec.start_stage is not None and spec.target is not None and spec.target < today:
        note = f"imported overdue (target {spec.target.isoformat()}); ladder started " \
            f"{today.isoformat()}"  # fmt: skip
        record_event(row, "ladder_started", today, DOCUMENT, note, new_target=today,
                     stage=spec.start_stage)  # fmt: skip
    return row


def follow(session: Session, row: Obligation, spec: Spec, today: date) -> None:
    """Turn what changed in the documents into events on an existing obligation, and follow
    the directory's answer to which agency its lead is."""
    follow_lead(session, row, spec)
    if spec.target != row.target_date and spec.target is not None:
        why = "progress updated" if spec.kind == "ongoing_review" else "target date changed"
        note = f"{why} in the documents"
        record_event(row, "retargeted", today, DOCUMENT, note, new_target=spec.target)
        row.target_date = spec.target  # the documents' own date, to notice the next change
    if spec.complete and not completed(row):
        complete_as_written(session, row, spec, today)
    elif not spec.complete and completed(row) and by_the_documents(last_event(row)):
        record_event(row, "reopened", today, DOCUMENT, "no longer complete in the documents")


def complete_as_written(session: Session, row: Obligation, spec: Spec, today: date) -> None:
    """The documents' completion, on the day they write (`Spec.completed_on`) when nothing on
    the item's record (its making, its events, its stage changes) comes after that day;
    otherwise on `today`, the day written kept in the note. No day is invented."""
    on, note, written = today, spec.why_complete, spec.completed_on
    if written is not None and written <= today:
        if written >= last_on_record(session, row):
            on = written
        else:
            note = f"{note}: achieved {written:%d/%m/%Y}, as written"
    record_event(row, "completed", on, DOCUMENT, note)


def last_on_record(session: Session, row: Obligation) -> date:
    """The day of the latest thing on `row`'s record: its making, an event, a stage change."""
    query = select(func.max(StageChange.on)).where(StageChange.obligation_id == row.id)
    days = [row.created_at.date(), *(e.on for e in row.events), session.scalar(query)]
    return max(day for day in days if day is not None)


def follow_lead(session: Session, row: Obligation, spec: Spec) -> None:
    """The agency the directory now says the lead is, unless one was given by hand: no event,
    since nothing happened to the item; its people are told from the next assessment on."""
    row.document_lead = spec.document_lead
    if spec.action_id is None or any(e.kind == "reassigned" for e in row.events):
        return
    if (row.agency_id, row.lead_name) == (spec.agency_id, spec.lead_name):
        return
    row.agency = session.get(Agency, spec.agency_id) if spec.agency_id is not None else None
    row.lead_name = spec.lead_name
    if (row.kind == "unassigned") != (spec.kind == "unassigned"):
        row.kind = spec.kind
    row.pending = True


def by_the_documents(event: ObligationEvent | None) -> bool:
    return event is not None and event.by == DOCUMENT
