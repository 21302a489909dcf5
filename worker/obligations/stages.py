"""The daily run's record: what the RPD policy asks to be written down about each obligation.

Each stage change (when, from, to, why), the ladder copied onto an obligation when it enters
stage 1, and the day it was resolved. An item that cannot be assessed keeps its stage and gets
the reason written on it (`problem`, `problem_since`) until it assesses again.

The run's cost grows with what changes, not with what exists: each obligation keeps the day
of its next change and whether something happened to it since it was last assessed, and only
those rows are read and written (see `record_each`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from worker.db import clock_of, one_at_a_time
from worker.history import record_change
from worker.models import DailyRun, Obligation, StageChange
from worker.obligations.assess import Assessor, Unassessed, problem_text
from worker.obligations.documents import keep_in_step
from worker.obligations.events import completed
from worker.obligations.store import BATCH, engine_view, stream
from worker.obligations.view import view_of
from worker.rules import engine
from worker.rules.engine import Decision
from worker.rules.ladder import Rules

log = logging.getLogger(__name__)

REASON_WINDOW_DAYS = 120
LOCK_KEY = 7_216_002  # the advisory lock that makes assessments wait for each other
MOVES = ("stage", "retargeted", "reopened", "resumed")


@dataclass(frozen=True)
class Moved:
    """A stage change (or resolution) as it was written down."""

    key: str
    label: str  # "4.6 (Composite Action Plan 2016)", "MI 3/17"
    on: date
    from_stage: int
    to_stage: int
    reason: str


def record_each(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> Iterator[Moved]:
    """The daily run: assess the obligations with something due today and write down what
    changed, a batch at a time with set-based statements.

    Something is due when an obligation is pending (new, or an event happened to it) or its
    next change has come. Every live item is assessed instead when the ladder or the closure
    days differ from the previous run's, or the run is for a day before one already run.
    An item that cannot be assessed keeps its stage, gets the reason written on it, and
    stays pending.
    """
    take_turn(session)  # two at once would write each change twice
    assessor = Assessor.build(session, rules, today)
    runs = Runs.read(session, today, fingerprint(rules))
    due = [] if runs.full else [or_(Obligation.pending, Obligation.next_change <= today)]
    writes = Writes(session, today)
    for row in stream(session, where=due):
        outcome = change_of(assessor, row, runs.previous)
        if isinstance(outcome, Unassessed):
            writes.problem(row, outcome.reason)
            if unassessed is not None:
                unassessed.append(outcome)
            continue
        moved = writes.decision(row, *outcome)
        if moved is not None:
            yield moved
        if len(writes) >= BATCH:
            writes.flush()
    writes.flush()
    runs.note(session, writes.assessed, writes.moved)


def record(
    session: Session, rules: Rules, today: date, unassessed: list[Unassessed] | None = None
) -> list[Moved]:
    """The daily run for `today`: what changed, written down."""
    return list(record_each(session, rules, today, unassessed))


def bring_up_to_date(session: Session, rules: Rules, tz: ZoneInfo, today: date,
                     unassessed: list[Unassessed] | None = None) -> list[Moved]:  # fmt: skip
    """The obligations in step with the documents, directory and rules, then the daily run
    for `today`: done by the daily run first, and at once after an import, an event, a rules
    or a directory change, so that every screen shows where each item stands now. The records
    are the same, so the next run neither repeats nor contradicts them."""
    take_turn(session)
    keep_in_step(session, rules, tz, today)
    session.flush()
    return record(session, rules, today, unassessed)


def take_turn(session: Session) -> None:
    """Wait until no other transaction is assessing, and keep the turn until this one ends.

    Taken by every assessment; a transaction that changes obligations and then assesses them
    takes it first, before it touches a row: taken after, it could wait for an assessment
    that waits for that row (a deadlock)."""
    one_at_a_time(session, LOCK_KEY, DailyRun)


def reapply(session: Session, rows: Iterable[Obligation], source: str, now: datetime) -> int:
    """Put the live items among `rows` under the rules in force instead of the ladder they
    copied on entering stage 1; each copy dropped is kept in the history, with `source`
    (who decided, and how); they are pending, to be assessed again. How many moved."""
    changed = [r for r in rows if r.ladder is not None and r.resolved_on is None]
    for row in changed:
        record_change(session, "obligation", row.key, "ladder", row.ladder, None, source, now)
        row.ladder, row.pending = None, True
    return len(changed)


def fingerprint(rules: Rules) -> str:
    """What the stage timing of items without their own copy of the ladder depends on."""
    closures = sorted(d.isoformat() for d in rules.closure_days)
    text = rules.ladder().to_json() + "|" + ",".join(closures)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Runs:
    """The previous daily runs, as far as today's needs to know them."""

    today: date
    rules: str
    full: bool  # every live item must be assessed
    previous: date | None  # the last run before today: reasons are given since then

    @classmethod
    def read(cls, session: Session, today: date, rules: str) -> Runs:
        last = session.scalar(select(DailyRun).order_by(DailyRun.day.desc()).limit(1))
        earlier = select(func.max(DailyRun.day)).where(DailyRun.day < today)
        full = last is None or last.rules != rules or last.day > today
        return cls(today, rules, full, session.scalar(earlier))

    def note(self, session: Session, assessed: int, changed: int) -> None:
        run = session.scalar(select(DailyRun).where(DailyRun.day == self.today))
        if run is None:
            run = DailyRun(day=self.today, rules=self.rules, full=self.full, assessed=0, changed=0)
            session.add(run)
        run.rules, run.full = self.rules, run.full or self.full
        run.assessed, run.changed = run.assessed + assessed, run.changed + changed
        session.flush()


Decided = tuple[Decision, str | None]  # the decision, and the reason if the stage moved


def change_of(assessor: Assessor, row: Obligation, previous: date | None) -> Decided | Unassessed:
    """The decision for `row` and the reason to write down, if any; everything that can fail
    is worked out before anything is written, and a failure is this row's alone."""
    try:
        decision = assessor.decide(row)
        return decision, reason_for(assessor, row, decision, previous)
    except Exception as exc:  # whatever broke, it broke for this item only
        log.exception("could not assess obligation %s", row.key)
        return Unassessed(row, problem_text(row, exc))


def reason_for(
    assessor: Assessor, row: Obligation, decision: Decision, previous: date | None
) -> str | None:
    if decision.resolved:
        return resolution(row)
    if decision.stage == row.stage:
        return None
    since = row.assessed_on and max(row.assessed_on, previous or row.assessed_on)
    return why(assessor, row, since) or first_assessment(decision)


class Writes:
    """The rows and stage changes of one batch, each kind written with one statement."""

    def __init__(self, session: Session, today: date) -> None:
        self.session, self.today, self.now = session, today, clock_of(session)
        self.rows: list[dict[str, Any]] = []
        self.problems: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.assessed = self.moved = 0

    def __len__(self) -> int:
        return len(self.rows) + len(self.problems)

    def decision(self, row: Obligation, d: Decision, reason: str | None) -> Moved | None:
        on = self.today
        ladder = row.ladder
        if d.ladder_to_copy is not None and ladder is None:
            ladder = d.ladder_to_copy.to_json()
        self.rows.append({"id": row.id, "stage": d.stage, "assessed_on": on,
                          "next_change": d.next_look, "pending": False, "ladder": ladder,
                          "resolved_on": on if d.resolved else row.resolved_on,
                          "problem": None, "problem_since": None})  # fmt: skip
        self.assessed += 1
        if reason is None:
            return None
        self.changes.append({"obligation_id": row.id, "on": on, "from_stage": row.stage,
                             "to_stage": d.stage, "reason": reason,
                             "recorded_at": self.now})  # fmt: skip
        self.moved += 1
        return Moved(row.key, view_of(row).label, on, row.stage, d.stage, reason)

    def problem(self, row: Obligation, reason: str) -> None:
        """The reason an item could not be assessed, kept with the day it was first seen."""
        since = row.problem_since if row.problem == reason and row.problem_since else self.today
        self.problems.append({"id": row.id, "problem": reason, "problem_since": since,
                              "pending": True})  # fmt: skip

    def flush(self) -> None:
        for rows in (self.rows, self.problems):
            if rows:
                self.session.execute(update(Obligation), rows)
                rows.clear()
        if self.changes:
            self.session.execute(insert(StageChange), self.changes)
            self.changes.clear()


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
