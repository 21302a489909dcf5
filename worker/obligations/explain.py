"""Why an obligation stands where it does: its timeline under its ladder, step by step.

`reminders escalation explain` prints it and the console's item page shows it; both read it
from here. Steps dated before the item came into the service were worked out when it was
imported, never sent, and say so; a ladder started at import has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from worker.models import Obligation
from worker.obligations.store import engine_view
from worker.obligations.view import view_of
from worker.rules import engine
from worker.rules.ladder import Ladder, Rules
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

    def worked_out(self, step: engine.Step) -> bool:
        """Whether `step` is dated before the item came in: worked out at import, not sent."""
        return self.came_in is not None and step.on < self.came_in

    def lines(self) -> list[str]:
        head = f"{self.label} — {self.key} — target {self.target or 'none'} — under {self.source}"
        body = [f"  {s.on.isoformat()}  {s.reason}{WORKED_OUT if self.worked_out(s) else ''}"
                for s in self.steps]  # fmt: skip
        now = f"  today ({self.today.isoformat()}): {self.stage_name}"
        if self.next_change:
            now += f"; next: stage {self.next_stage} on {self.next_change}"
        return [head, *body, now, ""]


def explain(row: Obligation, rules: Rules, today: date, tz: ZoneInfo) -> Explanation:
    ladder = Ladder.from_json(row.ladder) if row.ladder else rules.ladder()
    source = "its own copy of the rules (taken at stage 1)" if row.ladder else "the rules in force"
    view, in_force, cal = engine_view(row), rules.ladder(), rules.calendar()
    decision = engine.decide(view, in_force, cal, today)
    start = (decision.target or today) - (ladder.due_soon_days[0] * 2 + 5) * ONE_DAY
    if decision.started_on is not None:
        start = decision.started_on
    steps = engine.timeline(view, in_force, cal, start, today)
    came_in = local_date(row.created_at, tz) if row.created_at else None
    return Explanation(view_of(row).label, row.key, decision.target, source, steps, today,
                       decision.stage_name, decision.next_stage, decision.next_change,
                       came_in, decision.started_on)  # fmt: skip
