"""The daily escalation sweep: the engine's decisions for every obligation, and their record.

`assess` only reads: it is what `reminders escalation status` shows. `record` also writes
what the RPD policy asks to be written down: each stage change (when, from, to, why), the
ladder copied onto an obligation when it enters stage 1, and the day it was resolved.

One item that cannot be assessed (a date the calendar cannot reach, a broken record) never
stops the others: it is skipped, handed back as `Unassessed` with the reason, and `record`
writes that reason on the obligation until it assesses again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from worker import escalation as engine
from worker.escalation import Decision
from worker.models import Action, Agency, Contact, Obligation, ObligationEvent, StageChange
from worker.obligations import completed
from worker.recipients import Owner, Partnership, Recipient, owner_of, who
from worker.rules import Ladder, Rules
from worker.workdays import WorkingCalendar

log = logging.getLogger(__name__)
T = TypeVar("T")

REASON_WINDOW_DAYS = 120
BATCH = 1000  # rows fetched (and, when recording, flushed) at a time
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


@dataclass(frozen=True)
class Unassessed:
    """An obligation the engine could not assess today, and why."""

    row: Obligation
    reason: str

    @property
    def ref(self) -> str:
        return reference(self.row)


def guarded(row: Obligation, work: Callable[[], T]) -> T | Unassessed:
    """`work` for one obligation, or the reason it failed: one bad item stops nobody else."""
    try:
        return work()
    except Exception as exc:  # whatever broke, it broke for this item only
        log.exception("could not assess obligation %s", row.key)
        return Unassessed(row, problem_text(row, exc))


def problem_text(row: Obligation, exc: Exception) -> str:
    target = f" (target date {row.target_date.isoformat()})" if row.target_date else ""
    return f"{str(exc) or type(exc).__name__}{target}"


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
    """Stream the obligations in id order, BATCH rows at a time, in a fixed number of queries.

    The directory (agencies, their contacts and line managers) is loaded once and held, so
    that owners are found in the session without a query; actions, plans, sheets and
    establishments come joined to each row; events come from one second stream in the same
    order, merged in. Only one batch of rows is held at a time.
    """
    directory = list(session.scalars(select(Agency).options(
        selectinload(Agency.contacts).joinedload(Contact.line_manager))))  # fmt: skip
    query = select(Obligation).options(
        joinedload(Obligation.action).joinedload(Action.plan),
        joinedload(Obligation.mi_sheet),
        joinedload(Obligation.establishment),
    )
    events = select(ObligationEvent).join(ObligationEvent.obligation)
    for condition in conditions(include_resolved, key):
        query, events = query.where(condition), events.where(condition)
    streamed = {"yield_per": BATCH}
    rows = session.scalars(query.order_by(Obligation.id).execution_options(**streamed))
    found = session.scalars(events.order_by(ObligationEvent.obligation_id, ObligationEvent.id)
                            .execution_options(**streamed))  # fmt: skip
    try:
        yield from with_events(rows, groupby(found, key=lambda e: e.obligation_id))
    finally:  # a caller that stops early must not leave server-side cursors open
        rows.close()
        found.close()
        del directory


def conditions(include_resolved: bool, key: str | None) -> list[Any]:
    found = [] if include_resolved else [Obligation.resolved_on.is_(None)]
    return found if key is None else [*found, Obligation.key == key]


def with_events(
    rows: Iterator[Obligation], events: Iterator[tuple[int, Iterator[ObligationEvent]]]
) -> Iterator[Obligation]:
    """Attach each row's events (both streams are in obligation id order)."""
    pending = next(events, None)
    for row in rows:
        while pending is not None and pending[0] < row.id:
            pending = next(events, None)
        mine = list(pending[1]) if pending is not None and pending[0] == row.id else []
        set_committed_value(row, "events", mine)
        yield row


def assess_one(row: Obligation, rules: Rules, cal: WorkingCalendar, today: date,
               partnership: Partnership) -> Assessment:  # fmt: skip
    decision = engine.decide(engine_view(row), rules.ladder(), cal, today)
    owner = owner_of(row, partnership)
    recipients, missing = who(owner, decision.tell)
    return Assessment(row, decision, owner, recipients, missing)


def assess_each(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> Iterator[Assessment]:
    """Where each open obligation stands on `today`, streamed; writes nothing. Items that
    cannot be assessed are left out, and added to `unassessed` when it is given."""
    cal, partnership = calendar_for(rules), Partnership.load(session)
    for row in obligations(session):
        found = guarded(row, partial(assess_one, row, rules, cal, today, partnership))
        if isinstance(found, Unassessed):
            if unassessed is not None:
                unassessed.append(found)
            continue
        yield found


def assess(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> list[Assessment]:
    """Where every open obligation stands on `today`, without writing anything."""
    return list(assess_each(session, rules, today, unassessed))


def record_each(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> Iterator[StageChange]:
    """Assess every open obligation and write down what changed, flushing each batch; an
    item that cannot be assessed keeps its stage and gets the reason written on it."""
    cal, partnership = calendar_for(rules), Partnership.load(session)
    for count, row in enumerate(obligations(session), start=1):
        outcome = guarded(row, partial(change_of, row, rules, today, cal, partnership))
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


def change_of(row: Obligation, rules: Rules, today: date, cal: WorkingCalendar,
              partnership: Partnership) -> StageChange | None:  # fmt: skip
    return record_one(assess_one(row, rules, cal, today, partnership), rules, today, cal)


def note_problem(row: Obligation, reason: str, today: date) -> None:
    if row.problem != reason or row.problem_since is None:
        row.problem, row.problem_since = reason, today


def record_one(
    found: Assessment, rules: Rules, today: date, cal: WorkingCalendar | None = None
) -> StageChange | None:
    """Write the decision on the row; everything that can fail is worked out first, so a
    failure leaves the row as it was."""
    row, decision = found.row, found.decision
    previous, since = row.stage, row.assessed_on
    reason = None
    if not decision.resolved and decision.stage != previous:
        reason = why(row, rules, today, since, cal) or first_assessment(decision)
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


def why(
    row: Obligation,
    rules: Rules,
    today: date,
    since: date | None,
    cal: WorkingCalendar | None = None,
) -> str:
    """The engine's own reasons for the steps since the previous sweep (at most ~4 months)."""
    start = (since + timedelta(days=1)) if since and since < today else today
    if row.target_date and since is None:
        start = min(start, row.target_date - timedelta(days=30))
    start = max(start, today - timedelta(days=REASON_WINDOW_DAYS))
    cal = cal or calendar_for(rules)
    steps = engine.timeline(engine_view(row), rules.ladder(), cal, start, today)
    return "; ".join(s.reason for s in steps if s.kind in MOVES)


def first_assessment(decision: Decision) -> str:
    overdue = decision.working_days_overdue
    return (
        f"first assessed at {decision.stage_name}: target date {decision.target} passed "
        f"{overdue} working days ago"
    )
