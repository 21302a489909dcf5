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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Executable,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from worker.db import clock_of, one_at_a_time
from worker.history import record_change
from worker.models import Base, DailyRun, Obligation
from worker.obligations import store
from worker.obligations.assess import Unassessed, moment_of, problem_text
from worker.obligations.documents import keep_in_step
from worker.obligations.shapes import Outcome, Record, Shapes
from worker.obligations.store import BATCH, Due
from worker.rules.ladder import Rules

log = logging.getLogger(__name__)

LOCK_KEY = 7_216_002  # the advisory lock that makes assessments wait for each other


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
    next change has come; one indexed query asks whether anything is before anything else is
    read. Every live item is assessed instead when the ladder or the closure days differ from
    the previous run's, or the run is for a day before one already run. An item that cannot
    be assessed keeps its stage, gets the reason written on it, and stays pending.
    """
    take_turn(session)  # two at once would write each change twice
    runs = Runs.read(session, today, fingerprint(rules))
    due = [] if runs.full else [or_(Obligation.pending, Obligation.next_change <= today)]
    if due and not anything_due(session, today):
        runs.note(session, 0, 0)
        return
    shapes = Shapes(rules, today, runs.previous, moment_of(session, today))
    writes = Writes(session, today, runs.previous)
    for row in store.due(session, due):
        try:
            outcome = shapes.outcome(row)
        except Exception as exc:  # whatever broke, it broke for this item only
            log.exception("could not assess obligation %s", row.key)
            writes.problem(row, problem_text(row.target_date, exc), unassessed)
            continue
        moved = writes.decision(row, outcome)
        if moved is not None:
            yield moved
        if len(writes) >= BATCH:
            writes.flush()
    writes.flush()
    runs.note(session, writes.assessed, writes.moved)


def anything_due(session: Session, today: date) -> bool:
    """Whether any obligation is pending, or the earliest next change of the open ones has
    come: each read from its own partial index, in a few index pages whatever the number of
    rows. (Pending is asked of all rows, so that SQLite cannot prefer the index of open
    items, which is every one; an event reopening an item clears `resolved_on` as it makes it
    pending. The earliest next change is asked as `min`, which both databases read from the
    index's first entry, however their statistics stand after the day's writes.)"""
    pending = select(Obligation.id).where(Obligation.pending).exists()
    earliest = select(func.min(Obligation.next_change)).where(Obligation.resolved_on.is_(None))
    return bool(session.scalar(select(or_(pending, earliest.scalar_subquery() <= today))))


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


class Writes:
    """The rows and stage changes of one batch. Rows that take the same values (thousands
    share a shape) are written by one statement for their ids; the rest, one at a time
    through one executemany."""

    def __init__(self, session: Session, today: date, previous: date | None) -> None:
        self.session, self.today, self.now = session, today, clock_of(session)
        # With a run before today, an unchanged row can be left as that run left it: its
        # next reason is given since that run, whatever its own `assessed_on` says.
        self.may_skip = previous is not None
        self.rows: dict[Record, list[int]] = defaultdict(list)
        self.problems: list[dict[str, Any]] = []
        self.changes: dict[tuple[int, int, str], list[int]] = defaultdict(list)
        self.assessed = self.moved = self.held = 0

    def __len__(self) -> int:
        return self.held

    def decision(self, row: Due, outcome: Outcome) -> Moved | None:
        record, reason = outcome.record, outcome.reason
        self.assessed += 1
        if not (self.may_skip and unchanged(row, self.today, record)):
            self.rows[record].append(row.id)
            self.held += 1
        if reason is None:
            return None
        parts = reason.split("; ") if row.stage == record.stage else [reason]  # deadlines, each
        for part in parts:
            self.changes[(row.stage, record.stage, part)].append(row.id)
        self.moved += 1
        return Moved(row.key, row.label, self.today, row.stage, record.stage, reason)

    def problem(self, row: Due, reason: str, unassessed: list[Unassessed] | None) -> None:
        """The reason an item could not be assessed, kept with the day it was first seen."""
        since = row.problem_since if row.problem == reason and row.problem_since else self.today
        self.problems.append({"by_id": row.id, "problem": reason, "problem_since": since,
                              "pending": True})  # fmt: skip
        self.held += 1
        if unassessed is not None:
            unassessed.append(Unassessed(row, reason))

    def flush(self) -> None:
        """On the tables themselves: the ORM's bookkeeping per row would cost more than the
        writing, and no ORM object of these rows is held."""
        connection, single = self.session.connection(), []
        for record, ids in self.rows.items():
            values = written(record, self.today)
            if len(ids) >= TOGETHER:
                connection.execute(update(OBLIGATIONS).where(OBLIGATIONS.c.id.in_(ids)), values)
            else:
                single += [{"by_id": i, **values} for i in ids]
        for rows in (single, self.problems):  # each the same columns: one executemany
            if rows:
                connection.execute(BY_ID, rows)
        for (before, after, reason), ids in self.changes.items():
            connection.execute(stage_changes(ids, self.today, before, after, reason, self.now))
        self.rows.clear()
        self.problems.clear()
        self.changes.clear()
        self.held = 0


def written(record: Record, today: date) -> dict[str, Any]:
    """The columns the run writes on a row it assessed."""
    return {"stage": record.stage, "assessed_on": today, "next_change": record.next_change,
            "pending": False, "ladder": record.ladder, "problem": None, "problem_since": None,
            "resolved_on": today if record.resolved else None}  # fmt: skip


def stage_changes(ids: list[int], on: date, before: int, after: int, reason: str,
                  now: datetime) -> Executable:  # fmt: skip
    """One statement recording the same stage change on each of `ids`. A change within a stage
    (a deadline missed) is written once: a later run that sees it again writes nothing."""
    table, row = TABLES["stage_changes"], OBLIGATIONS.c
    values = select(row.id, literal(on, Date()), literal(before), literal(after),
                    literal(reason, Text()), literal(now, table.c.recorded_at.type))  # fmt: skip
    columns = ["obligation_id", "on", "from_stage", "to_stage", "reason", "recorded_at"]
    chosen = values.where(row.id.in_(ids))
    if before == after:
        same = table.c
        chosen = chosen.where(~exists().where(same.obligation_id == row.id,
                                              same.reason == literal(reason, Text())))  # fmt: skip
    return insert(table).from_select(columns, chosen)


def unchanged(row: Due, today: date, record: Record) -> bool:
    """A row a full pass assessed that an ordinary day would not have (nothing happened to it,
    its next change still ahead) and whose record stays as it is: left unwritten, as that
    day would have left it, so that it is not news to planning (`assessed_on`)."""
    due = row.pending or (row.next_change is not None and row.next_change <= today)
    return (
        not due
        and row.problem is None
        and not record.resolved
        and (row.stage, row.next_change, row.ladder)
        == (record.stage, record.next_change, record.ladder)
    )


TABLES = Base.metadata.tables
OBLIGATIONS = TABLES["obligations"]
BY_ID = update(OBLIGATIONS).where(OBLIGATIONS.c.id == bindparam("by_id"))
TOGETHER = 4  # rows taking the same values that are written by one statement for their ids
