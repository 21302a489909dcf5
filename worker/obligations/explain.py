"""Why an obligation stands where it does: its timeline under its ladder, step by step.

`reminders escalation explain` prints it and the console's item page shows it; both read it
from here. Steps dated before the item came into the service were worked out when it was
imported, never sent, and say so; a ladder started at import has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import object_session

from worker.models import Obligation
from worker.obligations.assess import moment_of
from worker.obligations.store import engine_view
from worker.obligations.view import view_of
from worker.rules import engine
from worker.rules.ladder import ON_REQUEST, Ladder, Rules
from worker.workdays import local_date

ONE_DAY = timedelta(days=1)
WORKED_OUT = " (worked out at import, not sent)"


@dataclass(frozen=True)
class Explanation:
    label: str
    key: str
    target: date | None
    source: str  # which rules: its own copy, or those in force
    steps: list[engine.Step]
    today: date
    stage_name: str
    next_stage: int | None
    next_change: date | None
    came_in: date | None = None  # the day the item came into the service
    started_on: date | None = None  # the day its ladder started, when imported overdue
    next_at: datetime | None = None  # the moment of next_change
    timings: tuple[str, ...] = ()  # each stage of its ladder and when it is entered
    stages: tuple[tuple[int, str], ...] = ()  # its ladder's stages from 1, and their names

    @property
    def next_time(self) -> str:
        """The time of day of the next change, when it is not at the start of its day."""
        at = self.next_at
        return "" if at is None or at.time() == time.min else f"{at:%H:%M}"

    def worked_out(self, step: engine.Step) -> bool:
        """Whether `step` is dated before the item came in: worked out at import, not sent."""
        return self.came_in is not None and step.on < self.came_in

    def lines(self) -> list[str]:
        head = f"{self.label} — {self.key} — target {self.target or 'none'} — under {self.source}"
        body = [f"  {s.on.isoformat()}  {s.reason}{WORKED_OUT if self.worked_out(s) else ''}"
                for s in self.steps]  # fmt: skip
        now = f"  today ({self.today.isoformat()}): {self.stage_name}"
        if self.next_change:
            at = f" at {self.next_time}" if self.next_time else ""
            now += f"; next: stage {self.next_stage} on {self.next_change}{at}"
        elif self.next_stage:
            now += f"; next: stage {self.next_stage} on request (no time limit)"
        ladder = "  ladder: " + "; ".join(self.timings)
        return [head, *body, now, ladder, ""]


def explain(row: Obligation, rules: Rules, today: date, tz: ZoneInfo) -> Explanation:
    ladder = Ladder.from_json(row.ladder) if row.ladder else rules.ladder()
    source = "its own copy of the rules (taken at stage 1)" if row.ladder else "the rules in force"
    view, in_force, cal = engine_view(row), rules.ladder(), rules.calendar()
    session = object_session(row)
    at = moment_of(session, today) if session is not None else today
    decision = engine.decide(view, in_force, cal, at)
    start = (decision.target or today) - (ladder.due_soon_days[0] * 2 + 5) * ONE_DAY
    if decision.started_on is not None:
        start = decision.started_on
    steps = engine.timeline(view, in_force, cal, start, at)
    came_in = local_date(row.created_at, tz) if row.created_at else None
    named_stages = tuple((s.number, s.name) for s in ladder.stages)
    return Explanation(view_of(row).label, row.key, decision.target, source, steps, today,
                       decision.stage_name, decision.next_stage, decision.next_change,
                       came_in, decision.started_on, decision.next_change_at,
                       timings(ladder), named_stages)  # fmt: skip


def timings(ladder: Ladder) -> tuple[str, ...]:
    """ "stage 2 Line manager: 48 hours after stage 1", for each stage of `ladder`."""
    found = []
    for s in ladder.stages:
        before = "the target date" if s.number == 1 else f"stage {s.number - 1}"
        plain = s.enters_after == 0 or s.unit == ON_REQUEST
        when = str(s.timescale) if plain else f"{s.timescale} after {before}"
        if s.unit == "hours" and s.number == 1:
            when += " ends"
        within = "; ".join(f"{d.name} {d.timescale} after it began" for d in s.deadlines)
        found.append(
            f"stage {s.number} {s.name}: {when}" + (f" (deadlines: {within})" if within else "")
        )
    return tuple(found)
