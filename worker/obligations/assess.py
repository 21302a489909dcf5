"""Where obligations stand on a day: the engine's decision, the people it names, the view.

An `Assessor` is built once per unit of work (a sweep, a plan, a feed, a page) from the rules,
the directory in the database and the day, and assesses any number of rows with them.

One item that cannot be assessed (a date the calendar cannot reach, a broken record) never
stops the others: `attempt` hands it back as `Unassessed`, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from sqlalchemy.orm import Session

from worker.directory.recipients import Owner, Partnership, Recipient, owner_of, who
from worker.models import Obligation
from worker.obligations.store import Due, engine_view, stream
from worker.obligations.view import View, view_of
from worker.rules import engine
from worker.rules.engine import Decision
from worker.rules.ladder import Ladder, Rules
from worker.workdays import BEYOND_CALENDAR, WorkingCalendar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assessment:
    """One obligation on one day: the engine's decision and the people it names."""

    row: Obligation
    view: View
    decision: Decision
    owner: Owner
    recipients: list[Recipient]
    missing_roles: list[str]

    @property
    def ref(self) -> str:
        return self.view.label


@dataclass(frozen=True)
class Unassessed:
    """An obligation the engine could not assess, and why."""

    row: Obligation | Due
    reason: str

    @property
    def ref(self) -> str:
        return self.row.label if isinstance(self.row, Due) else view_of(self.row).label


@dataclass(frozen=True)
class Assessor:
    """The rules, their ladder and calendar, the partnership's officers and the day."""

    rules: Rules
    partnership: Partnership
    today: date
    at: date | datetime | None = None  # the moment within `today` (None: its end)

    @cached_property
    def ladder(self) -> Ladder:
        return self.rules.ladder()

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return self.rules.calendar()

    @classmethod
    def build(cls, session: Session, rules: Rules, today: date) -> Assessor:
        return cls(rules, Partnership.load(session), today, moment_of(session, today))

    def on(self, day: date) -> Assessor:
        """The same assessor for another day (as of its end)."""
        return self if day == self.today else replace(self, today=day, at=None)

    def decide(self, row: Obligation) -> Decision:
        """The engine's decision alone: all the daily run needs."""
        at = self.today if self.at is None else self.at
        return engine.decide(engine_view(row), self.ladder, self.calendar, at)

    def assess(self, row: Obligation) -> Assessment:
        decision = self.decide(row)
        owner = owner_of(row, self.partnership)
        recipients, missing = who(owner, decision.tell)
        return Assessment(row, view_of(row), decision, owner, recipients, missing)

    def attempt(self, row: Obligation) -> Assessment | Unassessed:
        """`assess`, or the reason it failed: one bad item stops nobody else."""
        try:
            return self.assess(row)
        except Exception as exc:  # whatever broke, it broke for this item only
            log.exception("could not assess obligation %s", row.key)
            return Unassessed(row, problem_text(row.target_date, exc))

    def each(
        self, rows: Iterable[Obligation], unassessed: list[Unassessed] | None = None
    ) -> Iterator[Assessment]:
        """The rows that can be assessed; the others go to `unassessed` when it is given."""
        for row in rows:
            found = self.attempt(row)
            if isinstance(found, Unassessed):
                if unassessed is not None:
                    unassessed.append(found)
                continue
            yield found


def moment_of(session: Session, today: date) -> date | datetime:
    """The moment an assessment for `today` is made at: now (local, without a zone) when
    `today` is the day it is by the session's clock, so that a stage due later today is not
    yet entered; else `today`, which the engine takes as the whole day."""
    clock, tz = session.info.get("clock"), session.info.get("tz")
    if clock is None or tz is None:
        return today
    local: datetime = clock().astimezone(tz)
    return local.replace(tzinfo=None) if local.date() == today else today


def problem_text(target_date: date | None, exc: Exception) -> str:
    """Why an item could not be assessed, in words the business manager can act on."""
    target = f" (target date {target_date.isoformat()})" if target_date else ""
    # Python's own words for a date past year 9999 ("date value out of range") say less.
    reason = BEYOND_CALENDAR if isinstance(exc, OverflowError) else str(exc)
    return f"{reason or type(exc).__name__}{target}"


def assess(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> list[Assessment]:
    """Where every open obligation stands on `today`, without writing anything."""
    assessor = Assessor.build(session, rules, today)
    return list(assessor.each(stream(session), unassessed))
