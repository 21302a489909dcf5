"""Reading obligations: streamed in batches with what is needed to assess and show them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from worker.models import Action, Agency, Contact, Obligation, ObligationEvent
from worker.rules import engine
from worker.rules.ladder import Ladder

BATCH = 1000  # rows fetched (and, when recording, flushed) at a time
# The events that move the ladder; the others (progress notes, reassignments) are the record.
LADDER_EVENTS = frozenset({"acknowledged", "completed", "retargeted", "reopened"})


def stream(
    session: Session, include_resolved: bool = False, where: Sequence[ColumnElement[bool]] = ()
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
    events = tuple(
        engine.Event(e.on, e.kind, e.new_target, e.note)  # type: ignore[arg-type]
        for e in row.events
        if e.kind in LADDER_EVENTS
    )
    ladder = Ladder.from_json(row.ladder) if row.ladder else None
    return engine.Obligation(row.key, row.target_date, row.kind == "unassigned", events, ladder)
