"""What proposed rules would do to the items already live, before they are saved.

For every live item, the rules in force beside the proposed ones over the coming working
days: which items change stage on which day, who would be told that is not told now and who
would no longer be, and how many items are at each stage on each day. The business manager
chooses whether the new rules reach only items that enter stage 1 from now on (an item on
the ladder keeps the copy it started with) or are re-applied to the live items too; the
preview shows the choice made.

Pure apart from reading the items: `today` is given, nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.orm import Session

from worker.directory.recipients import Owner, owner_of, who
from worker.models import Obligation
from worker.obligations import Assessor, engine_view, stream, view_of
from worker.obligations.assess import problem_text
from worker.rules import engine
from worker.rules.ladder import Rules
from worker.workdays import WorkingCalendar

HORIZON = 20  # working days looked ahead
SHOWN = 200  # items listed at most (the counts cover them all)

Steps = tuple[tuple[date, int], ...]  # (day, stage entered)


@dataclass(frozen=True)
class Moved:
    """One item whose stages differ over the coming days."""

    ref: str
    owner: str
    now: Steps  # the stage today, then each day it changes, under the rules in force
    proposed: Steps  # the same under the proposed rules
    told: tuple[str, ...]  # people told under the proposed rules who are not told now
    untold: tuple[str, ...]  # people told now who would no longer be


@dataclass(frozen=True)
class Preview:
    days: tuple[date, ...]
    stages: tuple[int, ...]  # 0 (due soon) to the highest stage either ladder has
    counts: tuple[tuple[tuple[int, int], ...], ...]  # counts[day][stage]: (now, proposed)
    moved: tuple[Moved, ...]  # at most SHOWN
    moved_total: int
    live: int
    reapply: bool
    skipped: tuple[str, ...] = ()  # items that could not be previewed, and why


def preview(session: Session, in_force: Rules, proposed: Rules, today: date, reapply: bool,
            horizon: int = HORIZON) -> Preview:  # fmt: skip
    """The live items under `in_force` and under `proposed`, today and `horizon` working
    days ahead (days on which the office works under the proposed rules)."""
    now = Assessor.build(session, in_force, today)
    then = replace(now, rules=proposed)
    days = (today, *ahead(then.calendar, today, horizon))
    found, live, tally, skipped = [], 0, Tally(days), []
    for row in stream(session):
        live += 1
        try:
            before = engine_view(row)
            after = replace(before, ladder=None) if reapply else before
            old = engine.stages_ahead(before, now.ladder, now.calendar, today, days)
            new = engine.stages_ahead(after, then.ladder, then.calendar, today, days)
            change = moved(row, now, then, before, after, days, old, new) if old != new else None
        except Exception as exc:  # one item that cannot be assessed stops no preview
            skipped.append(f"{view_of(row).label}: {problem_text(row.target_date, exc)}")
            continue
        tally.add(old, new)
        if change is not None:
            found.append(change)
    return Preview(days, tally.stages(), tally.table(), tuple(found[:SHOWN]), len(found), live,
                   reapply, tuple(skipped))  # fmt: skip


def ahead(calendar: WorkingCalendar, today: date, n: int) -> list[date]:
    days, day = [], today
    for _ in range(n):
        day = calendar.next_working_day(day)
        days.append(day)
    return days


def moved(row: Obligation, now: Assessor, then: Assessor, before: engine.Obligation,
          after: engine.Obligation, days: tuple[date, ...], old: list[int], new: list[int]
          ) -> Moved:  # fmt: skip
    """The item's steps both ways, and who would be told differently by the last day."""
    owner = owner_of(row, now.partnership)
    last = days[-1]
    told_now = told(owner, engine.decide(before, now.ladder, now.calendar, last).tell)
    told_then = told(owner, engine.decide(after, then.ladder, then.calendar, last).tell)
    gained, lost = sorted(told_then - told_now), sorted(told_now - told_then)
    return Moved(view_of(row).label, owner.label, steps(days, old), steps(days, new),
                 tuple(gained), tuple(lost))  # fmt: skip


def told(owner: Owner, roles: Iterable[str]) -> set[str]:
    found, _ = who(owner, tuple(roles))
    return {f"{r.name} <{r.email}>" for r in found}


def steps(days: tuple[date, ...], stages: list[int]) -> Steps:
    """The stage on the first day, then each day it changes."""
    return tuple(
        (day, stage)
        for i, (day, stage) in enumerate(zip(days, stages, strict=True))
        if i == 0 or stage != stages[i - 1]
    )


class Tally:
    """How many items are at each stage on each day, both ways."""

    def __init__(self, days: tuple[date, ...]) -> None:
        self.days = days
        self.counts: dict[tuple[int, int, int], int] = {}  # (day, stage, 0 now | 1 proposed)
        self.top = 0

    def add(self, old: list[int], new: list[int]) -> None:
        for side, stages in enumerate((old, new)):
            for i, stage in enumerate(stages):
                key = (i, stage, side)
                self.counts[key] = self.counts.get(key, 0) + 1
                self.top = max(self.top, stage)

    def stages(self) -> tuple[int, ...]:
        return tuple(range(self.top + 1))

    def table(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return tuple(
            tuple((self.counts.get((i, s, 0), 0), self.counts.get((i, s, 1), 0))
                  for s in self.stages())
            for i in range(len(self.days))
        )  # fmt: skip
