"""The escalation engine: where an obligation stands on a given day, and why.

Pure: every function takes `today`, the moment it is asked about: a local (Europe/London)
datetime without a zone, or a date, which means the end of that day (everything that happened
on it); nothing here reads a clock, touches the database or sends anything.

The ladder, day by day (counts in working days, see `WorkingCalendar`, unless a stage's
timescale says otherwise):

* Stage -1, nothing yet, until the due-soon period; forever when there is no target date
  (the caller turns "Ongoing" actions into review-date targets itself).
* Stage 0, due soon, from the largest `due_soon_days` working days before the target until
  stage 1. A due-soon reminder goes out on each of the `due_soon_days` dates.
* Stage 1 is entered its `enters_after` working days after the target (1: the next working
  day); stage k+1 `enters_after` working days after stage k was entered (0: the same moment,
  so the same working day). A stage entered by a count of days is entered at the start of its
  day (midnight): told in that day's digest.
* Timescales in hours run on working days' clocks: the clock stops at midnight before a
  weekend day, bank holiday or closure day and starts again at the midnight that ends it (and
  a paused working day stops it too). So {hours: 48} from Friday 12:00 before a bank-holiday
  Monday is Wednesday 12:00, and {hours: 24 n} is always n working days: policies write "48
  hours (two working days)", and clock hours would put that on a Sunday. Stage 1's hours
  count from the moment the target date ends; a later stage's from the moment the stage
  before it was entered. Calendar days count every day (an entry may fall on a weekend).
* Acknowledged on day A: the `acknowledgement_pause` working days starting at A do not count
  towards the next stage. Afterwards the ladder carries on from the stage reached; it never
  goes back. A later acknowledgement starts a new pause from its own day, but only
  `acknowledgement_limit_per_stage` acknowledgements pause the ladder at any one stage: a
  further one is kept as a progress note, so nobody can hold escalation off forever. A
  stage falling due on the acknowledgement day itself is still entered: that morning's
  escalation has usually gone out already, and a stage once entered is never taken back.
* Completed: resolved; the stage stays the last one reached (stages entered on the completion
  day count), so the caller can tell everyone who had been told.
* Retargeted: the ladder restarts from the new target; earlier events no longer count (so a
  completed obligation that is retargeted is open again).
* Reopened after completion: the ladder restarts as if the obligation were newly due on the
  reopening day (that day becomes the target); earlier events no longer count. A reopening
  of an obligation that is not completed changes nothing.
* Ladder started (an overdue item brought in with a plan the partnership already had): the
  ladder runs as if the item were due on the start day, which `new_target` gives; the target
  stays as written. Nothing is entered before the start day: stage 0 on it, and the first
  step enters `stage` (1 unless the import chose a later one), the rest following from it.

Events dated after `today` are ignored: they have not happened yet. Events on the same day
apply in the order given.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from worker.rules.ladder import ON_REQUEST, Ladder, LadderDeadline, LadderStage
from worker.workdays import WorkingCalendar

__all__ = ["Decision", "Event", "Obligation", "Step", "decide", "stages_ahead", "timeline"]

EventKind = Literal["acknowledged", "completed", "retargeted", "reopened", "ladder_started",
                    "escalated", "deadline_met"]  # fmt: skip
StepKind = Literal["retargeted", "reopened", "ladder_started", "resumed", "stage", "due_soon",
                   "acknowledged", "completed", "deadline", "deadline_met"]  # fmt: skip
DeadlineState = Literal["open", "met", "missed"]
RESTARTS = ("retargeted", "reopened", "ladder_started")
Span = tuple[date, date]  # first and last day of a pause, both included
ONE_DAY = timedelta(days=1)
When = date | datetime  # a moment (local, without a zone), or a date: the end of that day


def moment(when: When) -> datetime:
    """`when` as a moment: a date is the end of that day."""
    return when if isinstance(when, datetime) else datetime.combine(when, time.max)


NEVER = datetime.max  # when a stage on request is entered if nobody asks


def midnight(day: date) -> datetime:
    """The start of `day`: when a stage entered by a count of days is entered."""
    return datetime.combine(day, time.min)


@dataclass(frozen=True)
class Event:
    """Something that happened to an obligation, on a local date."""

    on: date
    kind: EventKind
    new_target: date | None = None  # for retargeted and ladder_started, and only for them
    note: str = ""
    stage: int = 1  # for ladder_started: the stage its first step enters; escalated: to
    at: datetime | None = None  # the local moment, for an act that takes effect at once

    @property
    def moment(self) -> datetime:
        """When it takes effect: its moment, or (an event of a day) the end of its day."""
        return self.at if self.at is not None else moment(self.on)

    def __post_init__(self) -> None:
        dated = self.kind in ("retargeted", "ladder_started")
        if dated != (self.new_target is not None):
            raise ValueError(f"{self.kind} event on {self.on}: new_target is for "
                             "retargeted and ladder_started only")  # fmt: skip


@dataclass(frozen=True)
class Obligation:
    key: str  # stable id chosen by the caller
    target: date | None  # the original target date; None = no date
    unassigned: bool = False  # lead agency unknown: to the business manager, flagged
    events: tuple[Event, ...] = ()
    ladder: Ladder | None = None  # the snapshot copied on entering stage 1, if any


@dataclass(frozen=True)
class Decision:
    key: str
    stage: int  # -1 nothing yet, 0 due soon, 1..N
    stage_name: str
    resolved: bool  # completed on or before today
    paused_until: date | None  # last day of the acknowledgement pause in force today
    working_days_overdue: int  # after the target, up to today (or the completion day)
    next_stage: int | None
    next_change: date | None  # when next_stage would be entered, pauses included
    tell: tuple[str, ...]  # roles, cumulative
    flagged_unassigned: bool
    ladder_to_copy: Ladder | None  # store this on the obligation: reached stage 1, no snapshot
    reminder_today: bool  # a due-soon date or the day a stage is entered (not while paused)
    target: date | None  # the effective target, after retargets and reopenings
    next_reminder: date | None = None  # the next due-soon date after today, if any
    started_on: date | None = None  # the day its ladder started, when it came in overdue
    next_change_at: datetime | None = None  # the moment of next_change (midnight for days)
    entered_at: datetime | None = None  # the moment the stage it is at was entered
    # The deadlines within the stage it is at: name, when due, and how each stands.
    deadlines: tuple[tuple[str, datetime, DeadlineState], ...] = ()

    @property
    def next_look(self) -> date | None:
        """The next day its stage changes or a reminder falls due: when to assess it again."""
        due = (at.date() for _, at, state in self.deadlines if state == "open")
        return min((d for d in (self.next_change, self.next_reminder, *due) if d), default=None)


@dataclass(frozen=True)
class Step:
    """One change in an obligation's timeline, for `reminders escalation explain`."""

    on: date
    kind: StepKind
    stage: int  # the stage after this step
    reason: str


@dataclass(frozen=True)
class _Progress:
    """Where an obligation stands on `today`, with what it takes to explain it."""

    ladder: Ladder
    now: datetime  # the moment asked about
    target: date | None
    base: date | None  # the day the ladder counts from: the target, or the start day
    restart: Event | None  # the retarget, reopening or start the ladder restarted from
    acks: tuple[date, ...]  # acknowledgements since the restart, up to completion
    pausing: tuple[date, ...]  # those of them within the limit per stage: they pause
    pauses: tuple[Span, ...]
    entries: tuple[datetime, ...]  # entries[k]: when stage k is (or would be) entered
    completed_on: date | None
    escalations: tuple[Event, ...] = ()  # escalated on request since the restart
    met: tuple[Event, ...] = ()  # deadlines said to be met since the restart

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def started(self) -> bool:
        """Whether the ladder runs from a start day rather than the target."""
        return self.restart is not None and self.restart.kind == "ladder_started"

    @property
    def stopped(self) -> datetime | None:
        """The end of the completion day, if completed: stages entered on it count."""
        return None if self.completed_on is None else moment(self.completed_on)

    @property
    def as_of_at(self) -> datetime:
        """The moment the ladder stopped moving: completion, or now."""
        return min(self.now, self.stopped or self.now)

    @property
    def as_of(self) -> date:
        """The day the ladder stopped moving: completion, or today."""
        return self.as_of_at.date()

    @property
    def stage(self) -> int:
        return bisect_right(self.entries, self.as_of_at) - 1 if self.entries else -1

    def pause_on(self, day: date) -> Span | None:
        return next((span for span in self.pauses if span[0] <= day <= span[1]), None)


def decide(ob: Obligation, current: Ladder, cal: WorkingCalendar, today: When) -> Decision:
    """Where `ob` stands at `today`, under its own ladder snapshot if it has one, else `current`."""
    p = _progress(ob, current, cal, today)
    stage, resolved = p.stage, p.completed_on is not None
    pause = None if resolved else p.pause_on(p.today)
    upcoming = stage + 1 if p.entries and not resolved and stage < p.ladder.top else None
    later = None if upcoming is None or p.entries[upcoming] == NEVER else p.entries[upcoming]
    return Decision(
        key=ob.key,
        stage=stage,
        stage_name="No target date" if p.target is None else p.ladder.stage_name(stage),
        resolved=resolved,
        paused_until=pause[1] if pause else None,
        working_days_overdue=_overdue(p, cal),
        next_stage=upcoming,
        next_change=None if later is None else later.date(),
        tell=("business_manager",) if ob.unassigned else p.ladder.roles_for(stage),
        flagged_unassigned=ob.unassigned,
        ladder_to_copy=current if ob.ladder is None and stage >= 1 else None,
        reminder_today=_reminder_today(p, cal),
        target=p.target,
        next_reminder=None if resolved else _next_reminder(p, cal),
        started_on=p.base if p.started else None,
        next_change_at=later,
        entered_at=p.entries[stage] if stage >= 0 else None,
        deadlines=()
        if resolved
        else tuple((d.name, at, state) for d, at, state in _deadlines(p, cal)),
    )


def stages_ahead(
    ob: Obligation, current: Ladder, cal: WorkingCalendar, today: When, days: Sequence[date]
) -> list[int]:
    """The stage `ob` would be at on each of `days` (by the end of each; all after `today`)
    if nothing more happened to it: the events known today, the ladder worked out once."""
    p = _progress(ob, current, cal, today)
    if not p.entries:
        return [p.stage] * len(days)
    stop = p.stopped
    return [bisect_right(p.entries, min(moment(day), stop or moment(day))) - 1 for day in days]


def timeline(
    ob: Obligation, current: Ladder, cal: WorkingCalendar, start: date, end: When
) -> list[Step]:
    """Every change from `start` to `end` (both included), day by day, with its reason;
    `end` a moment stops the last day there.

    The obligation is followed as `decide` would see it at the end of each day, so events
    only take effect on their own dates.
    """
    steps: list[Step] = []
    last = moment(end)
    before = _progress(ob, current, cal, start - ONE_DAY)
    for offset in range((last.date() - start).days + 1):
        day = start + timedelta(days=offset)
        now = _progress(ob, current, cal, last if day == last.date() else day)
        steps += _changes(before, now, cal)
        before = now
    return steps


# ---------------------------------------------------------------------------------------------
# Working out the progress


def _progress(ob: Obligation, current: Ladder, cal: WorkingCalendar, today: When) -> _Progress:
    ladder = ob.ladder if ob.ladder is not None else current
    now = moment(today)
    target, restart, events = _since_restart(ob, now)
    asked = tuple(sorted((e for e in events if e.kind == "escalated"), key=lambda e: e.moment))
    base = restart.new_target if restart is not None and restart.kind == "ladder_started" \
        else target  # fmt: skip
    completed_on = next((e.on for e in events if e.kind == "completed"), None)
    acks = tuple(
        e.on
        for e in events
        if e.kind == "acknowledged" and (completed_on is None or e.on <= completed_on)
    )
    pausing, pauses = _pausing(cal, ladder, base, acks, restart, asked)
    entries = () if base is None else _entries(cal, ladder, base, pauses, restart, asked)
    met = tuple(e for e in events if e.kind == "deadline_met")
    return _Progress(ladder, now, target, base, restart, acks, pausing, pauses, entries,
                     completed_on, asked, met)  # fmt: skip


def _pausing(
    cal: WorkingCalendar, ladder: Ladder, base: date | None, acks: Sequence[date],
    restart: Event | None, asked: Sequence[Event] = (),
) -> tuple[tuple[date, ...], tuple[Span, ...]]:  # fmt: skip
    """The acknowledgements that pause (at most the limit at each stage), and their pauses.

    Taken in date order: a pause only moves stages entered after it starts, so the stage an
    acknowledgement is counted against does not depend on any later one.
    """
    pausing: list[date] = []
    used: dict[int, int] = {}
    for ack in sorted(acks):
        pauses = _pauses(cal, ladder.acknowledgement_pause, pausing)
        entries = () if base is None else _entries(cal, ladder, base, pauses, restart, asked)
        stage = bisect_right(entries, moment(ack)) - 1
        limit = ladder.acknowledgement_limit_per_stage
        if limit is None or used.get(stage, 0) < limit:
            used[stage] = used.get(stage, 0) + 1
            pausing.append(ack)
    return tuple(pausing), _pauses(cal, ladder.acknowledgement_pause, pausing)


def _since_restart(ob: Obligation, now: datetime) -> tuple[date | None, Event | None, list[Event]]:
    """The effective target, the event that last restarted the ladder, and the events since
    (an event of a day counts from its day; one with a moment from that moment)."""
    target, restart, events = ob.target, None, list[Event]()
    happened = (e for e in ob.events if (e.at <= now if e.at else e.on <= now.date()))
    for event in sorted(happened, key=lambda e: e.on):
        if event.kind == "retargeted":
            target, restart, events = event.new_target, event, []
        elif event.kind == "ladder_started":
            restart, events = event, []
        elif event.kind == "reopened":
            if any(e.kind == "completed" for e in events):
                target, restart, events = event.on, event, []
        else:
            events.append(event)
    return target, restart, events


def _pauses(cal: WorkingCalendar, length: int, acks: Sequence[date]) -> tuple[Span, ...]:
    """Pause spans: `length` working days from each acknowledgement, overlapping ones merged."""
    spans: list[Span] = []
    for ack in sorted(acks):
        last = cal.add(ack - timedelta(days=1), length)
        if last < ack:  # a pause of 0 days
            continue
        if spans and ack <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(last, spans[-1][1]))
        else:
            spans.append((ack, last))
    return tuple(spans)


def _entries(
    cal: WorkingCalendar, ladder: Ladder, base: date, pauses: Sequence[Span],
    restart: Event | None = None, asked: Sequence[Event] = (),
) -> tuple[datetime, ...]:  # fmt: skip
    """When each stage is (or would be) entered, stage 0 first. A ladder started on a day
    enters nothing before it, and its first step enters every stage up to its `stage`. An
    escalation asked for enters every stage up to the one asked for at its moment, if they
    were not entered before; the stages after it count from there."""
    started = restart if restart is not None and restart.kind == "ladder_started" else None
    first = cal.add(base, -max(ladder.due_soon_days))
    if started is not None:
        first = max(first, started.on)
    entries, previous = [midnight(first)], midnight(base)
    for stage in ladder.stages:
        if started is None or stage.number == 1 or stage.number > started.stage:
            previous = _after(cal, previous, stage, pauses)
        requested = [e.moment for e in asked if e.stage >= stage.number]
        previous = min([previous, *requested])
        entries.append(previous)
    return tuple(entries)


def _after(
    cal: WorkingCalendar, start: datetime, stage: LadderStage, pauses: Sequence[Span]
) -> datetime:
    """When `stage` is entered, the step before it having begun at `start` (for stage 1, the
    start of the target date)."""
    n = stage.enters_after
    if stage.unit == ON_REQUEST or start == NEVER:
        return NEVER
    if stage.unit == "hours":
        origin = start + ONE_DAY if stage.number == 1 else start  # the target date's end
        return _hours_after(cal, origin, n, pauses)
    if stage.unit == "calendar_days":
        return max(start, midnight(_calendar_entry(start.date(), n, pauses)))
    return max(start, midnight(_entry(cal, start.date(), n, pauses)))


def _deadlines(
    p: _Progress, cal: WorkingCalendar
) -> list[tuple[LadderDeadline, datetime, DeadlineState]]:
    """The deadlines of the stage `p` stands at: when each is due and how it stands now. One
    is met when someone said so before it was due; missed once due and not met by then."""
    k = p.stage
    if k < 1 or p.entries[k] == NEVER:
        return []
    found: list[tuple[LadderDeadline, datetime, DeadlineState]] = []
    for d in p.ladder.stages[k - 1].deadlines:
        rule = LadderStage(2, d.name, d.amount, (), d.unit)  # counted as a later stage's time
        due = _after(cal, p.entries[k], rule, p.pauses)
        said = [e for e in p.met if e.note == d.name and p.entries[k] <= e.moment <= due]
        state: DeadlineState = "met" if said else ("missed" if due <= p.as_of_at else "open")
        found.append((d, due, state))
    return found


def _hours_after(
    cal: WorkingCalendar, origin: datetime, hours: int, pauses: Sequence[Span]
) -> datetime:
    """`hours` on working days' clocks after `origin`: whole days of them are working days
    (each paused one skipped, as `_entry` skips them), the rest hours of the day reached."""
    day = origin.date()
    if cal.is_working_day(day):
        offset = origin - midnight(day)
    else:  # the clock starts again at the next working day's start
        day, offset = cal.next_working_day(day), timedelta(0)
    whole, rest = divmod(offset + timedelta(hours=hours), ONE_DAY)
    return midnight(_entry(cal, day, whole, pauses)) + rest


def _calendar_entry(start: date, n: int, pauses: Sequence[Span]) -> date:
    """The n-th unpaused day after `start`, pauses applied as `_entry` applies them."""
    entry = start + n * ONE_DAY
    for used in range(1, len(pauses) + 1):
        if pauses[used - 1][0] >= entry:
            break
        day, left = start, n
        while left > 0:
            day += ONE_DAY
            left -= not any(first <= day <= last for first, last in pauses[:used])
        entry = day
    return entry


def _entry(cal: WorkingCalendar, start: date, n: int, pauses: Sequence[Span]) -> date:
    """The n-th unpaused working day after `start`.

    A pause starting on the very day the stage falls due does not delay it (see the module
    docstring), so pauses are applied one at a time, each only if it starts before the entry
    worked out so far.
    """
    entry = cal.add(start, n)
    for used in range(1, len(pauses) + 1):
        if pauses[used - 1][0] >= entry:
            break
        entry = _unpaused_forward(cal, start, n, pauses[:used])
    return entry


def _unpaused_forward(cal: WorkingCalendar, start: date, n: int, pauses: Sequence[Span]) -> date:
    # Step n working days; each paused day in that stretch needs one more, and so on.
    day = start
    while n > 0:
        landed = cal.add(day, n)
        n = sum(_paused_between(cal, span, day, landed) for span in pauses)
        day = landed
    return day


def _paused_between(cal: WorkingCalendar, span: Span, low: date, high: date) -> int:
    """Working days of `span` in (low, high]."""
    start, end = max(low, span[0] - timedelta(days=1)), min(high, span[1])
    return cal.working_days_between(start, end) if end > start else 0


def _overdue(p: _Progress, cal: WorkingCalendar) -> int:
    """Working days after the day the ladder counts from (the target, or the start day)."""
    if p.base is None:
        return 0
    return max(0, cal.working_days_between(p.base, p.as_of))


def _due_soon_dates(p: _Progress, cal: WorkingCalendar) -> set[date]:
    if p.base is None:
        return set()
    days = {cal.add(p.base, -n) for n in p.ladder.due_soon_days}
    return {d for d in days if not p.started or d >= p.base}


def _next_reminder(p: _Progress, cal: WorkingCalendar) -> date | None:
    return min((d for d in _due_soon_dates(p, cal) if d > p.today), default=None)


def _reminder_today(p: _Progress, cal: WorkingCalendar) -> bool:
    if p.completed_on is not None or p.stage < 0 or p.pause_on(p.today):
        return False
    entered_today = p.entries[p.stage].date() == p.today
    return entered_today or (p.stage == 0 and p.today in _due_soon_dates(p, cal))


# ---------------------------------------------------------------------------------------------
# Explaining the changes


def _changes(before: _Progress, now: _Progress, cal: WorkingCalendar) -> list[Step]:
    """What changed between the day before and `now.today`, in the order it happened."""
    day, steps = now.today, list[Step]()
    if now.restart is not None and now.restart != before.restart:
        steps.append(_restart_step(now))
    if _resumes(now, cal):
        steps.append(_step(now, "resumed", _resume_reason(now)))
    started_today = now.started and now.restart is not None and now.restart.on == day
    entered = _entered_today(before, now)
    if started_today and now.stage == 0:
        pass  # the start's own step says where it stands
    elif entered:
        steps += [_step(now, "stage", _entry_reason(now, cal, k), k) for k in entered]
    elif _reminder_today(now, cal):
        steps.append(_step(now, "due_soon", _due_soon_reason(now, cal)))
    if day in now.acks:
        steps.append(_step(now, "acknowledged", _ack_reason(now)))
    steps += _deadline_steps(now, cal)
    if now.completed_on == day:
        steps.append(_step(now, "completed", _completed_reason(now)))
    return steps


def _entered_today(before: _Progress, now: _Progress) -> list[int]:
    """The stages entered on `now.today`, in order: each of them when the ladder only
    climbed (several on a day of same-day or hourly steps), else the one it stands at."""
    day, top = now.today, now.stage
    if top < 0 or now.entries[top].date() != day or now.as_of != day:
        return []
    if now.restart != before.restart or before.stage >= top:
        return [top]
    jumped = now.restart.stage if now.started and now.restart is not None else 0
    return [k for k in range(max(before.stage + 1, 0), top + 1)
            if now.entries[k].date() == day and not 1 <= k < jumped]  # fmt: skip


def _deadline_steps(p: _Progress, cal: WorkingCalendar) -> list[Step]:
    """The deadlines of its stage said to be met today, and those missed today."""
    day, steps = p.today, list[Step]()
    if p.completed_on is not None:
        return steps
    began = _began(p.entries[p.stage]) if p.stage >= 1 else ""
    head = f"at {_stage_text(p, p.stage)}"
    for d, due, state in _deadlines(p, cal):
        said = [e for e in p.met if e.note == d.name and e.on == day]
        if state == "met" and said:
            steps.append(_step(p, "deadline_met", f"deadline met {head}: {d.name}"))
        elif state == "missed" and due.date() == day:
            steps.append(
                _step(
                    p,
                    "deadline",
                    f"deadline missed {head}: {d.name}, due "
                    f"{d.timescale} after the stage began {began} ({_when(due)})",
                )
            )
    return steps


def _step(p: _Progress, kind: StepKind, reason: str, stage: int | None = None) -> Step:
    return Step(on=p.today, kind=kind, stage=p.stage if stage is None else stage, reason=reason)


def _when(at: datetime) -> str:
    """A moment as the reasons say it: the date, and the time when it is not midnight."""
    return at.date().isoformat() if at.time() == time.min else f"{at:%Y-%m-%d %H:%M}"


def _stage_text(p: _Progress, stage: int) -> str:
    return f"stage {stage} {p.ladder.stage_name(stage)}"


def _days(n: int, what: str = "working") -> str:
    return f"{n} {what} day" if n == 1 else f"{n} {what} days"


def _restart_step(p: _Progress) -> Step:
    assert p.restart is not None
    if p.restart.kind == "retargeted":
        kind: StepKind = "retargeted"
        head = f"retargeted to {p.target}: the ladder restarts from the new target date"
    elif p.restart.kind == "ladder_started":
        kind = "ladder_started"
        head = f"imported overdue (target {p.target}); ladder started {p.base}"
    else:
        kind, head = "reopened", "reopened: the ladder restarts as if newly due today"
    note = f" ({p.restart.note})" if p.restart.note else ""
    return _step(p, kind, f"{head}{note}; now at {_stage_text(p, p.stage)}")


def _entry_reason(p: _Progress, cal: WorkingCalendar, k: int) -> str:
    head = f"entered {_stage_text(p, k)}"
    at = p.entries[k]
    if at.time() != time.min:
        head += f" at {at:%H:%M}"
    if k == 0:
        return f"{head}: {_days(max(p.ladder.due_soon_days))} before the target date {p.base}"
    if p.started and p.restart is not None and p.restart.stage > 1 and k <= p.restart.stage:
        return f"{head}: the first step of the ladder started on {p.base} enters this stage"
    asked = next((e for e in p.escalations if e.moment == at and e.stage >= k), None)
    if asked is not None:
        note = f": {asked.note}" if asked.note else ""
        return f"{head}: escalated on request to stage {asked.stage}{note}"
    rule = p.ladder.stages[k - 1]
    named = "the day the ladder started" if p.started else "the target date"
    since = f"{named} {p.base}" if k == 1 else f"stage {k - 1} {_began(p.entries[k - 1])}"
    if rule.unit == "working_days" and rule.enters_after == 0:
        return f"{head}: the same working day as stage {k - 1}"
    return f"{head}: {rule.timescale} after {since}{_paused_note(p, cal, k, rule)}"


def _began(at: datetime) -> str:
    if at == NEVER:
        return "on request"
    return f"at {_when(at)}" if at.time() != time.min else f"on {_when(at)}"


def _paused_note(p: _Progress, cal: WorkingCalendar, k: int, rule: LadderStage) -> str:
    """How many paused working days held the stage back, if any."""
    start = midnight(p.base) if k == 1 and p.base else p.entries[k - 1]
    unpaused = _after(cal, start, rule, ())
    if unpaused >= p.entries[k]:
        return ""
    held = cal.working_days_between(unpaused.date(), p.entries[k].date())
    if rule.unit == "calendar_days":
        return f" (not counting {_days((p.entries[k] - unpaused).days, 'paused')})"
    return f" (not counting {_days(held, 'paused working')})"


def _due_soon_reason(p: _Progress, cal: WorkingCalendar) -> str:
    assert p.base is not None
    n = cal.working_days_between(p.today, p.base)
    return f"due-soon reminder: {_days(n)} before the target date {p.base}"


def _ack_reason(p: _Progress) -> str:
    limit = p.ladder.acknowledgement_limit_per_stage
    if p.today not in p.pausing and p.ladder.acknowledgement_pause and limit is not None:
        plural = "" if limit == 1 else "s"
        return (
            f"acknowledged, kept as a progress note: the limit of {limit} pausing "
            f"acknowledgement{plural} at {_stage_text(p, p.stage)} is reached, so escalation "
            "goes on"
        )
    pause = p.pause_on(p.today)
    if pause is None:
        return "acknowledged: acknowledgements do not pause escalation under these rules"
    length = _days(p.ladder.acknowledgement_pause)
    return f"acknowledged: escalation paused for {length}, until {pause[1]}"


def _resumes(p: _Progress, cal: WorkingCalendar) -> bool:
    if p.completed_on is not None or p.pause_on(p.today):
        return False
    return any(cal.next_working_day(span[1]) == p.today for span in p.pauses)


def _resume_reason(p: _Progress) -> str:
    reason = f"pause over: escalation resumes at {_stage_text(p, p.stage)}"
    upcoming = p.stage + 1
    if p.entries and upcoming <= p.ladder.top:
        reason += f"; {_stage_text(p, upcoming)} {_began(p.entries[upcoming])}"
    return reason


def _completed_reason(p: _Progress) -> str:
    return f"completed at {_stage_text(p, p.stage)}: resolved, everyone told so far is told"
