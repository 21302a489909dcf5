"""The daily escalation sweep: the engine's decisions for every obligation, and their record.

`assess` only reads: it is what `reminders escalation status` shows. `record` also writes
what the RPD policy asks to be written down: each stage change (when, from, to, why), the
ladder copied onto an obligation when it enters stage 1, and the day it was resolved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker import escalation as engine
from worker.escalation import Decision
from worker.models import Action, Agency, Obligation, StageChange
from worker.obligations import completed
from worker.recipients import Owner, Partnership, Recipient, owner_of, who
from worker.rules import Ladder, Rules
from worker.workdays import WorkingCalendar

REASON_WINDOW_DAYS = 120
MOVES = ("stage", "retargeted", "reopened", "resumed")


@dataclass(frozen=True)
class Assessment:
    """One obligation on one day: the engine's decision and the people it names."""

    row: Obligation
    decision: Decision
    owner: Owner
    recipients: list[Recipient]
    missing_roles: list[str]

    @property
    def ref(self) -> str:
        return reference(self.row)


def reference(row: Obligation) -> str:
    if row.action is not None:
        return f"{row.action.ref} ({row.action.plan.title})"
    return f"MI {row.mi_sheet.number}" if row.mi_sheet else row.key


def calendar_for(rules: Rules) -> WorkingCalendar:
    return WorkingCalendar(rules.closure_days)


def engine_view(row: Obligation) -> engine.Obligation:
    events = tuple(
        engine.Event(e.on, e.kind, e.new_target, e.note)  # type: ignore[arg-type]
        for e in row.events
    )
    ladder = Ladder.from_json(row.ladder) if row.ladder else None
    return engine.Obligation(row.key, row.target_date, row.kind == "unassigned", events, ladder)


def obligations(
    session: Session, include_resolved: bool = False, key: str | None = None
) -> Iterator[Obligation]:
    query = select(Obligation).options(
        selectinload(Obligation.events),
        selectinload(Obligation.action).selectinload(Action.plan),
        selectinload(Obligation.mi_sheet),
        selectinload(Obligation.agency).selectinload(Agency.contacts),
        selectinload(Obligation.establishment),
    )
    if not include_resolved:
        query = query.where(Obligation.resolved_on.is_(None))
    if key is not None:
        query = query.where(Obligation.key == key)
    yield from session.scalars(query.order_by(Obligation.id))


def assess_one(row: Obligation, rules: Rules, cal: WorkingCalendar, today: date,
               partnership: Partnership) -> Assessment:  # fmt: skip
    decision = engine.decide(engine_view(row), rules.ladder(), cal, today)
    owner = owner_of(row, partnership)
    recipients, missing = who(owner, decision.tell)
    return Assessment(row, decision, owner, recipients, missing)


def assess(session: Session, rules: Rules, today: date) -> list[Assessment]:
    """Where every open obligation stands on `today`, without writing anything."""
    cal, partnership = calendar_for(rules), Partnership.load(session)
    return [assess_one(row, rules, cal, today, partnership) for row in obligations(session)]


def record(session: Session, rules: Rules, today: date) -> list[StageChange]:
    """Assess every open obligation and write down what changed since the last sweep."""
    changes = []
    for found in assess(session, rules, today):
        change = record_one(found, rules, today)
        if change is not None:
            session.add(change)
            changes.append(change)
    return changes


def record_one(found: Assessment, rules: Rules, today: date) -> StageChange | None:
    row, decision = found.row, found.decision
    if decision.ladder_to_copy is not None and row.ladder is None:
        row.ladder = decision.ladder_to_copy.to_json()
    previous, since = row.stage, row.assessed_on
    row.assessed_on, row.stage = today, decision.stage
    if decision.resolved:
        row.resolved_on = today
        return StageChange(obligation=row, on=today, from_stage=previous,
                           to_stage=decision.stage, reason=resolution(row))  # fmt: skip
    if decision.stage == previous:
        return None
    reason = why(row, rules, today, since) or first_assessment(decision)
    return StageChange(obligation=row, on=today, from_stage=previous, to_stage=decision.stage,
                       reason=reason)  # fmt: skip


def resolution(row: Obligation) -> str:
    last = [e for e in row.events if e.kind == "completed"]
    note = f": {last[-1].note}" if last and last[-1].note else ""
    by = f" (by {last[-1].by})" if last else ""
    return f"resolved{note}{by}" if completed(row) else "resolved"


def why(row: Obligation, rules: Rules, today: date, since: date | None) -> str:
    """The engine's own reasons for the steps since the previous sweep (at most ~4 months)."""
    start = (since + timedelta(days=1)) if since and since < today else today
    if row.target_date and since is None:
        start = min(start, row.target_date - timedelta(days=30))
    start = max(start, today - timedelta(days=REASON_WINDOW_DAYS))
    steps = engine.timeline(engine_view(row), rules.ladder(), calendar_for(rules), start, today)
    return "; ".join(s.reason for s in steps if s.kind in MOVES)


def first_assessment(decision: Decision) -> str:
    overdue = decision.working_days_overdue
    return (
        f"first assessed at {decision.stage_name}: target date {decision.target} passed "
        f"{overdue} working days ago"
    )
