"""The daily run's decisions and reasons, worked out once per shape of obligation.

The engine is pure: where an obligation stands on a day depends only on its target date,
whether its lead is unassigned, the events that move its ladder and its own copy of the
ladder. Thousands of items share all four (an MI sheet sent to every school, a plan's actions
due on one date), so the run asks the engine once per shape, and once per shape and day of
last assessment for the reason a stage moved. What is kept is bounded (`KEPT`), so a run over
any number of distinct shapes holds no more than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from worker.obligations.events import ends_completed
from worker.obligations.store import Due
from worker.rules import engine
from worker.rules.engine import Decision, Event
from worker.rules.ladder import Ladder, Rules
from worker.workdays import WorkingCalendar

KEPT = 20_000  # decisions (and as many reasons) kept at most; then forgotten and begun again
REASON_WINDOW_DAYS = 120
MOVES = ("stage", "retargeted", "reopened", "ladder_started", "resumed")

Shape = tuple[date | None, bool, tuple[Event, ...], str | None]


@dataclass(frozen=True)
class Record:
    """What the run writes on every open row of one shape."""

    stage: int
    next_change: date | None  # the next day its stage changes or a reminder falls due
    ladder: str | None  # its own copy of the ladder: kept, or taken on entering stage 1
    resolved: bool


@dataclass(frozen=True)
class Outcome:
    """What the run writes for one obligation: its shape's record, and the reason if its
    stage moved."""

    record: Record
    reason: str | None


class Shapes:
    """The engine under one set of rules on one day, its answers kept per shape."""

    def __init__(self, rules: Rules, today: date, previous: date | None,
                 at: date | datetime | None = None) -> None:  # fmt: skip
        self.ladder: Ladder = rules.ladder()
        self.calendar: WorkingCalendar = rules.calendar()
        self.today, self.previous = today, previous
        self.at = today if at is None else at  # the moment within today it is asked at
        self.decisions: dict[Shape, tuple[Decision, Record]] = {}
        self.reasons: dict[tuple[Shape, date | None, int], str] = {}
        self.ladders: dict[str, Ladder] = {}

    def outcome(self, row: Due) -> Outcome:
        """The decision for `row` and the reason to write down, if any; raises what the
        engine raises, for this row alone."""
        shape = (row.target_date, row.kind == "unassigned", row.ladder_events, row.ladder)
        decision, record = self.decide(shape)
        if record.resolved:
            return Outcome(record, resolution(row))
        since = row.assessed_on and max(row.assessed_on, self.previous or row.assessed_on)
        if record.stage == row.stage:
            return Outcome(record, self.missed(shape, since) if self.has_deadlines(shape) else None)
        reason = self.reasons.get((shape, since, row.stage))
        if reason is None:
            reason = self.why(shape, since, row.stage) or first_assessment(decision)
            self.reasons[(shape, since, row.stage)] = reason
        return Outcome(record, reason)

    def decide(self, shape: Shape) -> tuple[Decision, Record]:
        found = self.decisions.get(shape)
        if found is None:
            if len(self.decisions) >= KEPT:
                self.decisions.clear()
                self.reasons.clear()
            d = engine.decide(self.view(shape), self.ladder, self.calendar, self.at)
            ladder = shape[3]
            if d.ladder_to_copy is not None and ladder is None:
                ladder = d.ladder_to_copy.to_json()
            found = self.decisions[shape] = (d, Record(d.stage, d.next_look, ladder, d.resolved))
        return found

    def view(self, shape: Shape) -> engine.Obligation:
        target, unassigned, events, ladder = shape
        return engine.Obligation("", target, unassigned, events, self.own_ladder(ladder))

    def own_ladder(self, text: str | None) -> Ladder | None:
        if text is None:
            return None
        if text not in self.ladders:
            self.ladders[text] = Ladder.from_json(text)
        return self.ladders[text]

    def has_deadlines(self, shape: Shape) -> bool:
        ladder = self.own_ladder(shape[3]) or self.ladder
        return any(s.deadlines for s in ladder.stages)

    def missed(self, shape: Shape, since: date | None) -> str | None:
        """The deadlines within its stage missed since the previous run, each a reason of its
        own (written once: see `stages.stage_changes`), or None."""
        today = self.today
        start = (since + timedelta(days=1)) if since and since < today else today
        steps = engine.timeline(self.view(shape), self.ladder, self.calendar, start, self.at)
        return "; ".join(s.reason for s in steps if s.kind == "deadline") or None

    def why(self, shape: Shape, since: date | None, recorded: int) -> str:
        """The engine's own reasons for the steps since the previous run (at most ~4 months),
        but for stages entered earlier today and already `recorded` (a stage within the day)."""
        today, target = self.today, shape[0]
        start = (since + timedelta(days=1)) if since and since < today else today
        if target and since is None:
            start = min(start, target - timedelta(days=30))
        start = max(start, today - timedelta(days=REASON_WINDOW_DAYS))
        steps = engine.timeline(self.view(shape), self.ladder, self.calendar, start, self.at)
        told = since == today  # assessed earlier today: its stages up to `recorded` are written
        return "; ".join(s.reason for s in steps if s.kind in MOVES
                         and not (told and s.kind == "stage" and s.stage <= recorded))  # fmt: skip


def resolution(row: Due) -> str:
    """Why it was resolved: the completion's note and who completed it, when it was."""
    last = [e for e in row.events if e.kind == "completed"]
    note = f": {last[-1].note}" if last and last[-1].note else ""
    by = f" (by {last[-1].by})" if last else ""
    return f"resolved{note}{by}" if ends_completed(e.kind for e in row.events) else "resolved"


def first_assessment(decision: Decision) -> str:
    overdue = decision.working_days_overdue
    return (
        f"first assessed at {decision.stage_name}: target date {decision.target} passed "
        f"{overdue} working days ago"
    )
