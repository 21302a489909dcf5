"""Reading obligations: streamed in batches with what is needed to assess and show them.

`stream` gives ORM rows with everything joined, for whoever shows or changes them; `due`
gives the daily run plain tuples: the columns it writes from, the label it reports, the
events that move the ladder, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from worker.models import (
    Action,
    Agency,
    Contact,
    MISheet,
    Obligation,
    ObligationEvent,
    Plan,
    Recommendation,
)
from worker.obligations.view import label_of
from worker.rules import engine
from worker.rules.ladder import Ladder

BATCH = 1000  # rows fetched (and, when recording, flushed) at a time
# The events that move the ladder; the others (progress notes, reassignments) are the record.
LADDER_EVENTS = frozenset({"acknowledged", "completed", "retargeted", "reopened", "ladder_started",
                           "escalated", "deadline_met"})  # fmt: skip


def stream(
    session: Session, include_resolved: bool = False, where: Sequence[ColumnElement[bool]] = ()
) -> Iterator[Obligation]:
    """Stream the obligations in id order, BATCH rows at a time, in a fixed number of queries.

    The directory (agencies, their contacts and line managers) is loaded once and held, so
    that owners are found in the session without a query; actions, plans, sheets and
    establishments come joined to each row, a batch's sheets' sessions in one query more;
    events come from one second stream in the same order, merged in. Only one batch of rows
    is held at a time.
    """
    directory = list(session.scalars(select(Agency).options(
        selectinload(Agency.contacts).joinedload(Contact.line_manager))))  # fmt: skip
    query = select(Obligation).options(
        joinedload(Obligation.action).joinedload(Action.plan),
        joinedload(Obligation.mi_sheet).selectinload(MISheet.sessions),
        joinedload(Obligation.establishment),
    )
    events = select(ObligationEvent).join(ObligationEvent.obligation)
    if not include_resolved:
        where = [*where, Obligation.resolved_on.is_(None)]
    for condition in where:
        query, events = query.where(condition), events.where(condition)
    streamed = {"yield_per": BATCH}
    # Rows the daily run wrote with set-based statements are read afresh, not from the map.
    fresh = query.order_by(Obligation.id).execution_options(populate_existing=True, **streamed)
    rows = session.scalars(fresh)
    found = session.scalars(events.order_by(ObligationEvent.obligation_id, ObligationEvent.id)
                            .execution_options(**streamed))  # fmt: skip
    try:
        yield from with_events(rows, groupby(found, key=lambda e: e.obligation_id))
    finally:  # a caller that stops early must not leave server-side cursors open
        rows.close()
        found.close()
        del directory


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


def engine_view(row: Obligation) -> engine.Obligation:
    """The obligation as the pure escalation engine takes it."""
    events = tuple(ladder_event(e) for e in row.events if e.kind in LADDER_EVENTS)
    ladder = Ladder.from_json(row.ladder) if row.ladder else None
    return engine.Obligation(row.key, row.target_date, row.kind == "unassigned", events, ladder)


def ladder_event(event: Any) -> engine.Event:
    """An event (a row or a stored one) as the engine takes it."""
    note = f"{event.note} (by {event.by})" if event.kind == "escalated" else event.note
    return engine.Event(event.on, event.kind, event.new_target, note, event.stage or 1,
                        event.at)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Due:
    """An obligation as the daily run reads it: plain values, never an ORM object."""

    id: int
    key: str
    kind: str
    target_date: date | None
    stage: int
    ladder: str | None
    assessed_on: date | None
    resolved_on: date | None
    problem: str | None
    problem_since: date | None
    next_change: date | None
    pending: bool
    ref: str | None  # the action's, with its plan's title
    plan: str | None
    number: str | None  # the MI sheet's
    recommendation: int | None  # the recommendation's number, with its review
    review: str | None
    events: tuple[Any, ...]  # rows of (on, kind, new_target, stage, note, by, at), in order

    @property
    def label(self) -> str:
        return label_of(self.key, self.ref, self.plan, self.number, self.recommendation,
                        self.review)  # fmt: skip

    @property
    def ladder_events(self) -> tuple[engine.Event, ...]:
        if not self.events:
            return ()
        return tuple(ladder_event(e) for e in self.events if e.kind in LADDER_EVENTS)


DUE_COLUMNS = (Obligation.id, Obligation.key, Obligation.kind, Obligation.target_date,
               Obligation.stage, Obligation.ladder, Obligation.assessed_on,
               Obligation.resolved_on, Obligation.problem, Obligation.problem_since,
               Obligation.next_change, Obligation.pending)  # fmt: skip
LABEL_COLUMNS = (Action.ref, Plan.title, MISheet.number, Recommendation.number,
                 Recommendation.review)  # fmt: skip
EVENT_COLUMNS = (ObligationEvent.obligation_id, ObligationEvent.on, ObligationEvent.kind,
                 ObligationEvent.new_target, ObligationEvent.stage, ObligationEvent.note,
                 ObligationEvent.by, ObligationEvent.at)  # fmt: skip


def due(session: Session, where: Sequence[ColumnElement[bool]]) -> Iterator[Due]:
    """The open obligations matching `where`, in id order, in two streamed queries: the rows
    (with the few columns of their action, plan, sheet or recommendation a label needs) and
    their events. Only one batch of each is held at a time."""
    where = [Obligation.resolved_on.is_(None), *where]
    rows = (select(*DUE_COLUMNS, *LABEL_COLUMNS).select_from(Obligation)
            .outerjoin(Action, Action.id == Obligation.action_id)
            .outerjoin(Plan, Plan.id == Action.plan_id)
            .outerjoin(MISheet, MISheet.id == Obligation.mi_sheet_id)
            .outerjoin(Recommendation, Recommendation.id == Obligation.recommendation_id)
            .where(*where).order_by(Obligation.id))  # fmt: skip
    events = (select(*EVENT_COLUMNS).join(ObligationEvent.obligation).where(*where)
              .order_by(ObligationEvent.obligation_id, ObligationEvent.id))  # fmt: skip
    connection, streamed = session.connection(), {"yield_per": BATCH}
    found = connection.execute(rows.execution_options(**streamed))
    happened = connection.execute(events.execution_options(**streamed))
    try:
        grouped = groupby(happened, key=lambda e: e.obligation_id)
        pending = next(grouped, None)
        for row in found:
            while pending is not None and pending[0] < row.id:
                pending = next(grouped, None)
            mine = tuple(pending[1]) if pending is not None and pending[0] == row.id else ()
            yield due_of(row, mine)
    finally:  # a caller that stops early must not leave server-side cursors open
        found.close()
        happened.close()


def due_of(row: Any, events: tuple[Any, ...]) -> Due:
    """A row of `due`'s query: its columns are Due's fields, in order."""
    return Due(*row, events)  # type: ignore[call-arg]  # mypy counts *row as every field
