"""What people do in the console, through the one event path, each kept in the record.

Every change made in the console is a `ConsoleAction` (who, when, from which address and
browser, what, to which item); a change to an obligation is also its `ObligationEvent`,
recorded by `worker.obligations.record_event` like every other, and the two are linked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from worker.console.people import (
    ACKNOWLEDGE,
    COMPLETE,
    ESCALATE,
    NOTE,
    REASSIGN,
    RETARGET,
    Person,
)
from worker.models import Agency, ConsoleAction, Obligation, ObligationEvent
from worker.obligations import record_event
from worker.obligations.assess import moment_of
from worker.signin.sessions import Client

EVENTS = {
    ACKNOWLEDGE: "acknowledged",
    NOTE: "noted",
    COMPLETE: "completed",
    RETARGET: "retargeted",
    REASSIGN: "reassigned",
    ESCALATE: "escalated",
}
NOTE_LIMIT = 2000


class ForbiddenError(Exception):
    """This person may not do this; nothing was recorded."""


@dataclass(frozen=True)
class Request:
    """One thing asked of an item, as the form gave it."""

    what: str
    note: str = ""
    new_target: date | None = None
    agency: Agency | None = None
    stage: int | None = None  # Escalate now: the stage asked for (None: the next one)


@dataclass(frozen=True)
class Doer:
    """Who asks, from where, and when."""

    person: Person
    client: Client
    now: datetime
    today: date


def act(session: Session, doer: Doer, row: Obligation, asked: Request) -> ObligationEvent:
    """Record `asked` on `row`: ForbiddenError when the person may not, EventRefusedError
    when the item's state forbids it (nothing recorded in either case)."""
    if asked.what not in doer.person.acts_on(row):
        raise ForbiddenError(f"{doer.person.email} may not {asked.what} {row.key}")
    note = asked.note.strip()
    if asked.what == COMPLETE and not note:
        note = "marked complete in the console"
    by = doer.person.actor(row)  # "delegate for person" when acting as cover
    stage, at = None, None
    if asked.what == ESCALATE:
        stage = asked.stage or max(row.stage + 1, 1)
        found = moment_of(session, doer.today)
        at = found if isinstance(found, datetime) else None
    event = record_event(row, EVENTS[asked.what], doer.today, by, note, asked.new_target,
                         asked.agency, stage, at)  # fmt: skip
    session.flush()
    keep(session, doer, asked.what, row.key, event)
    return event


def keep(
    session: Session, doer: Doer, action: str, subject: str, event: ObligationEvent | None = None
) -> None:
    """Put a console change in the record."""
    session.add(
        ConsoleAction(
            at=doer.now,
            email=doer.person.email,
            action=action,
            subject=subject[:400],
            client=doer.client.address,
            user_agent=doer.client.user_agent,
            event_id=event.id if event is not None else None,
        )
    )
