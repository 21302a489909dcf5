"""Why an obligation stands where it does: its timeline under its ladder, step by step.

`reminders escalation explain` prints it and the console's item page shows it; both read it
from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from worker.models import Obligation
from worker.obligations.store import engine_view
from worker.obligations.view import view_of
from worker.rules import engine
from worker.rules.ladder import Ladder, Rules

ONE_DAY = timedelta(days=1)


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

    def lines(self) -> list[str]:
        head = f"{self.label} — {self.key} — target {self.target or 'none'} — under {self.source}"
        body = [f"  {s.on.isoformat()}  {s.reason}" for s in self.steps]
        now = f"  today ({self.today.isoformat()}): {self.stage_name}"
        if self.next_change:
            now += f"; next: stage {self.next_stage} on {self.next_change}"
        return [head, *body, now, ""]


def explain(row: Obligation, rules: Rules, today: date) -> Explanation:
    ladder = Ladder.from_json(row.ladder) if row.ladder else rules.ladder()
    source = "its own copy of the rules (taken at stage 1)" if row.ladder else "the rules in force"
    view, in_force, cal = engine_view(row), rules.ladder(), rules.calendar()
    decision = engine.decide(view, in_force, cal, today)
    start = (decision.target or today) - (ladder.due_soon_days[0] * 2 + 5) * ONE_DAY
    steps = engine.timeline(view, in_force, cal, start, today)
    return Explanation(view_of(row).label, row.key, decision.target, source, steps, today,
                       decision.stage_name, decision.next_stage, decision.next_change)  # fmt: skip
