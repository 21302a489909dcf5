"""The daily run's record: what the RPD policy asks to be written down about each obligation.

Each stage change (when, from, to, why), the ladder copied onto an obligation when it enters
stage 1, and the day it was resolved. An item that cannot be assessed keeps its stage and gets
the reason written on it (`problem`, `problem_since`) until it assesses again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy.orm import Session

from worker import escalation as engine
from worker.escalation import Decision
from worker.models import Obligation, StageChange
from worker.obligations.assess import Assessment, Assessor, Unassessed, problem_text
from worker.obligations.events import completed
from worker.obligations.store import BATCH, engine_view, stream
from worker.rules import Rules

log = logging.getLogger(__name__)

REASON_WINDOW_DAYS = 120
MOVES = ("stage", "retargeted", "reopened", "resumed")


def record_each(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> Iterator[StageChange]:
    """Assess every open obligation and write down what changed, flushing each batch; an
    item that cannot be assessed keeps its stage and gets the reason written on it."""
    assessor = Assessor.build(session, rules, today)
    for count, row in enumerate(stream(session), start=1):
        outcome = change_of(assessor, row)
        if isinstance(outcome, Unassessed):
            note_problem(row, outcome.reason, today)
            if unassessed is not None:
                unassessed.append(outcome)
        elif outcome is not None:
            session.add(outcome)
            yield outcome
        if count % BATCH == 0:
            session.flush()
    session.flush()


def record(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> list[StageChange]:
    """Assess every open obligation and write down what changed since the last sweep."""
    return list(record_each(session, rules, today, unassessed))


def change_of(assessor: Assessor, row: Obligation) -> StageChange | Unassessed | None:
    """The stage change to write for `row`, if any; the reason when it cannot be assessed."""
    try:
        found = assessor.attempt(row)
        return found if isinstance(found, Unassessed) else record_one(assessor, found)
    except Exception as exc:  # the reason for the record failed: the row is left as it was
        log.exception("could not record obligation %s", row.key)
        return Unassessed(row, problem_text(row, exc))


def note_problem(row: Obligation, reason: str, today: date) -> None:
    if row.problem != reason or row.problem_since is None:
        row.problem, row.problem_since = reason, today


def record_one(assessor: Assessor, found: Assessment) -> StageChange | None:
    """Write the decision on the row; everything that can fail is worked out first, so a
    failure leaves the row as it was."""
    row, decision, today = found.row, found.decision, assessor.today
    previous, since = row.stage, row.assessed_on
    reason = None
    if not decision.resolved and decision.stage != previous:
        reason = why(assessor, row, since) or first_assessment(decision)
    if decision.ladder_to_copy is not None and row.ladder is None:
        row.ladder = decision.ladder_to_copy.to_json()
    row.assessed_on, row.stage = today, decision.stage
    row.problem, row.problem_since = None, None
    if decision.resolved:
        row.resolved_on = today
        reason = resolution(row)
    if reason is None:
        return None
    return StageChange(obligation=row, on=today, from_stage=previous, to_stage=decision.stage,
                       reason=reason)  # fmt: skip


def resolution(row: Obligation) -> str:
    last = [e for e in row.events if e.kind == "completed"]
    note = f": {last[-1].note}" if last and last[-1].note else ""
    by = f" (by {last[-1].by})" if last else ""
    return f"resolved{note}{by}" if completed(row) else "resolved"


def why(assessor: Assessor, row: Obligation, since: date | None) -> str:
    """The engine's own reasons for the steps since the previous sweep (at most ~4 months)."""
    today = assessor.today
    start = (since + timedelta(days=1)) if since and since < today else today
    if row.target_date and since is None:
        start = min(start, row.target_date - timedelta(days=30))
    start = max(start, today - timedelta(days=REASON_WINDOW_DAYS))
    view = engine_view(row)
    steps = engine.timeline(view, assessor.ladder, assessor.calendar, start, today)
    return "; ".join(s.reason for s in steps if s.kind in MOVES)


def first_assessment(decision: Decision) -> str:
    overdue = decision.working_days_overdue
    return (
        f"first assessed at {decision.stage_name}: target date {decision.target} passed "
        f"{overdue} working days ago"
    )
