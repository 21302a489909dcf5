"""The Composite Action Plan as the partnership presents it at its monitoring sub-group:
grouped by theme, each action with its lead agency, target date, status in words (Complete,
On track, Due soon, Overdue), stage on the escalation ladder and latest progress; above it,
the count of each status per theme.

An action's status and stage come from what the daily run stored on its obligations (the
console's lists read the same): the worst of its lead agencies'. Withdrawn actions are left
out. Written as Word, Excel and a web page by worker/reports/files.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker.app import App
from worker.models import Action, ActionStatus, Obligation, Plan
from worker.rules.ladder import Ladder
from worker.templating import long_date

STATUSES = ("Overdue", "Due soon", "On track", "Complete")


@dataclass(frozen=True)
class Line:
    ref: str
    text: str
    lead_agency: str
    target: str  # "30 June 2027", "Ongoing", "TBC"
    due: date | None  # the target as a date, when it is one (Excel writes it as a date cell)
    status: str  # one of STATUSES
    stage: str
    progress: str
    rag: str  # the tracker's own, as written


@dataclass(frozen=True)
class Theme:
    name: str
    lines: tuple[Line, ...]

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


@dataclass(frozen=True)
class CapReport:
    title: str
    on: date
    themes: tuple[Theme, ...]

    def total(self, status: str) -> int:
        return sum(theme.count(status) for theme in self.themes)

    @property
    def has_rag(self) -> bool:
        return any(line.rag for theme in self.themes for line in theme.lines)


class NoPlanError(LookupError):
    """No plan, or not the one named."""


def cap_report(
    session: Session, ladder: Ladder, themes: Sequence[str], today: date, plan: str | None
) -> CapReport:
    """The report of the plan named (or of the only plan there is)."""
    found = find_plan(session, plan)
    query = (
        select(Action)
        .where(Action.plan_id == found.id, Action.status != ActionStatus.WITHDRAWN)
        .options(selectinload(Action.leads))
        .order_by(Action.id)
    )
    actions = list(session.scalars(query))
    stages = obligation_stages(session, [a.id for a in actions])
    by_theme: dict[str, list[Line]] = {}
    for action in actions:
        line = line_of(action, stages.get(action.id, []), ladder, today)
        by_theme.setdefault(action.theme, []).append(line)
    order = {name: i for i, name in enumerate(themes)}
    named = sorted(by_theme, key=lambda t: (order.get(t, len(order)), t))
    return CapReport(found.title, today, tuple(Theme(t, tuple(by_theme[t])) for t in named))


def report_of(app: App, plan: str | None) -> CapReport:
    """The report of the plan named, as of today where the partnership is."""
    with app.sessions() as session:
        return cap_report(session, app.rules().ladder(), app.directory().themes, app.today(), plan)


def find_plan(session: Session, title: str | None) -> Plan:
    plans = list(session.scalars(select(Plan).order_by(Plan.title)))
    if title is not None:
        match = [p for p in plans if p.title.casefold() == title.strip().casefold()]
        if not match:
            raise NoPlanError(f"no plan called {title!r} (plans: {names(plans)})")
        return match[0]
    if len(plans) != 1:
        raise NoPlanError(f"name the plan: there are {len(plans)} (plans: {names(plans)})")
    return plans[0]


def names(plans: list[Plan]) -> str:
    return "; ".join(p.title for p in plans) or "none imported"


def obligation_stages(session: Session, ids: list[int]) -> dict[int, list[tuple[int, bool]]]:
    """Each action's obligations as (stage, resolved)."""
    query = select(Obligation.action_id, Obligation.stage, Obligation.resolved_on).where(
        Obligation.action_id.in_(ids)
    )
    found: dict[int, list[tuple[int, bool]]] = {}
    for action_id, stage, resolved_on in session.execute(query):
        if action_id is not None:
            found.setdefault(action_id, []).append((stage, resolved_on is not None))
    return found


def line_of(action: Action, stages: list[tuple[int, bool]], ladder: Ladder, today: date) -> Line:
    open_stages = [stage for stage, resolved in stages if not resolved]
    if action.status is ActionStatus.COMPLETE or (stages and not open_stages):
        status, stage = "Complete", "Complete"
    else:
        worst = max(open_stages, default=unassessed(action, today))
        status = "Overdue" if worst >= 1 else "Due soon" if worst == 0 else "On track"
        stage = ladder.stage_name(worst)
    return Line(
        ref=action.ref,
        text=action.text,
        lead_agency=action.lead_agency_text,
        target=target_of(action),
        due=action.target_date,
        status=status,
        stage=stage,
        progress=action.progress,
        rag=action.rag,
    )


def unassessed(action: Action, today: date) -> int:
    """Before any daily run: overdue past its date (stage 1), else not yet due."""
    return 1 if action.target_date is not None and action.target_date < today else -1


def target_of(action: Action) -> str:
    if action.target_date is not None:
        return long_date(action.target_date.isoformat())
    return action.date_to_set or "Ongoing"
