"""The items list: filtered, sorted and paged in the database, never read whole.

Status comes from what the daily run stored on each obligation: complete (resolved), overdue
(stage 1 or more), due soon (stage 0), on track (the rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from worker.models import (
    Action,
    Agency,
    Establishment,
    MISheet,
    Obligation,
    Plan,
    Recommendation,
)
from worker.obligations.view import RECOMMENDATIONS

COMPLETE, OVERDUE, DUE_SOON, ON_TRACK = "complete", "overdue", "due soon", "on track"
STATUSES = (OVERDUE, DUE_SOON, ON_TRACK, COMPLETE)
MI_SHEETS = "MI sheets"
SORTS = {"worst": "Worst first", "target": "Target date", "ref": "Reference"}
PAGE_SIZE = 50

status_column = case(
    (Obligation.resolved_on.is_not(None), COMPLETE),
    (Obligation.stage >= 1, OVERDUE),
    (Obligation.stage == 0, DUE_SOON),
    else_=ON_TRACK,
)
theme_column = func.coalesce(
    Action.theme,
    case((Obligation.recommendation_id.is_not(None), RECOMMENDATIONS)),
    literal(MI_SHEETS),
)
source_column = func.coalesce(
    Plan.title,
    literal("MI ") + MISheet.number,
    literal("Learning briefing: ") + Recommendation.review,
)


@dataclass(frozen=True)
class Filters:
    source: str = ""
    theme: str = ""
    agency: str = ""
    stage: int | None = None
    status: str = ""
    sort: str = "worst"
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        """From an address's query; anything not understood is left out, never an error."""
        stage = query.get("stage", "")
        return cls(
            source=query.get("source", "")[:300],
            theme=query.get("theme", "")[:200],
            agency=query.get("agency", "")[:200],
            stage=int(stage) if stage.lstrip("-").isdigit() and len(stage) < 4 else None,
            status=query.get("status", "") if query.get("status") in STATUSES else "",
            sort=query.get("sort", "worst") if query.get("sort") in SORTS else "worst",
            page=page_number(query),
        )

    def query(self, **changes: Any) -> str:
        """This view's query string, with `changes` (page=2, say)."""
        values = {k: v for k, v in vars(replace(self, **changes)).items() if v not in ("", None)}
        if values.get("sort") == "worst":
            del values["sort"]
        if values.get("page") == 1:
            del values["page"]
        return urlencode(values)

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.source:
            found.append(source_column == self.source)
        if self.theme:
            found.append(theme_column == self.theme)
        if self.agency:
            led = select(Agency.id).where(Agency.name == self.agency).scalar_subquery()
            found.append(Obligation.agency_id == led)  # names are unique
        if self.stage is not None:
            found.append(Obligation.stage == self.stage)
        if self.status:
            found.append(status_is(self.status))
        return found


def status_is(status: str) -> ColumnElement[bool]:
    """The items of `status`, in a form the (resolved_on, stage) index can serve."""
    open_ = Obligation.resolved_on.is_(None)
    return {
        COMPLETE: Obligation.resolved_on.is_not(None),
        OVERDUE: and_(open_, Obligation.stage >= 1),
        DUE_SOON: and_(open_, Obligation.stage == 0),
        ON_TRACK: and_(open_, Obligation.stage < 0),
    }[status]


def page_number(query: Mapping[str, str]) -> int:
    """The page asked for: a small positive number, else the first."""
    page = query.get("page", "1")
    return max(1, int(page)) if page.isdigit() and len(page) < 7 else 1


@dataclass(frozen=True)
class Line:
    """One item as a row of the list."""

    id: int
    ref: str
    source: str
    theme: str
    text: str
    lead: str
    target: date | None
    stage: int
    status: str


def joined(query: Select[Any]) -> Select[Any]:
    return (
        query.select_from(Obligation)
        .outerjoin(Action, Obligation.action_id == Action.id)
        .outerjoin(Plan, Action.plan_id == Plan.id)
        .outerjoin(MISheet, Obligation.mi_sheet_id == MISheet.id)
        .outerjoin(Agency, Obligation.agency_id == Agency.id)
        .outerjoin(Establishment, Obligation.establishment_id == Establishment.id)
        .outerjoin(Recommendation, Obligation.recommendation_id == Recommendation.id)
    )


def lines(
    session: Session,
    scope: ColumnElement[bool] | None,
    filters: Filters,
    limit: int | None = PAGE_SIZE,
    also: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[Line], int]:
    """One page of the filtered items (all of them when `limit` is None), and how many;
    `also` narrows them further."""
    where = [*filters.conditions(), *([scope] if scope is not None else []), *also]
    total = session.scalar(narrowed(select(func.count(Obligation.id)), filters, where)) or 0
    if limit is None:
        query = joined(columns()).where(*where)
    else:  # the page's items found first, from the items alone where it can; then their rows
        page = narrowed(select(Obligation.id), filters, where).order_by(*ordering(filters.sort))
        chosen = page.limit(limit).offset((filters.page - 1) * limit).scalar_subquery()
        query = joined(columns()).where(Obligation.id.in_(chosen))
    return [line(r) for r in session.execute(query.order_by(*ordering(filters.sort)))], total


def narrowed(query: Select[Any], filters: Filters, where: Sequence[ColumnElement[bool]]
             ) -> Select[Any]:  # fmt: skip
    """`query` on the items `where` picks, joined to plans and sheets only when the filters
    or the order read them (every other condition is on the items themselves)."""
    needs = filters.source or filters.theme or filters.sort == "ref"
    return (joined(query) if needs else query.select_from(Obligation)).where(*where)


def columns() -> Select[Any]:
    return select(  # type: ignore[return-value]
        Obligation.id, Obligation.key, Action.ref, MISheet.number, source_column, theme_column,
        Action.text, MISheet.title, Agency.name, Establishment.name, Obligation.lead_name,
        Obligation.target_date, Obligation.stage, status_column, Recommendation.number,
        Recommendation.text,
    )  # fmt: skip


def ordering(sort: str) -> Sequence[Any]:
    if sort == "target":
        return (Obligation.target_date.is_(None), Obligation.target_date, Obligation.id)
    if sort == "ref":
        return (source_column, Action.ref, Obligation.id)
    return (Obligation.resolved_on.is_not(None), Obligation.stage.desc(),
            Obligation.target_date.is_(None), Obligation.target_date, Obligation.id)  # fmt: skip


def line(r: Any) -> Line:
    (id_, key, ref, number, source, theme, text, title, agency, place, lead, target,
     stage, status, recommendation, advice) = r  # fmt: skip
    shown = ref or (f"MI {number}" if number else f"Rec {recommendation}" if advice else key)
    text = text or (f"Recommendation {recommendation}: {advice}" if advice else None)
    owner = place or agency or lead or "nobody (unassigned)"
    return Line(id_, shown, source or "", theme, text or title or "", owner, target, stage, status)


@dataclass(frozen=True)
class Choices:
    """The values the filters offer, from what is on record."""

    sources: list[str]
    themes: list[str]
    agencies: list[str]


def choices(session: Session, scope: ColumnElement[bool] | None) -> Choices:
    """What the filters offer: from the items in `scope`, or, for everyone's items, from the
    plans, sheets and agencies themselves (small tables, not every item)."""
    if scope is None:
        return every_choice(session)

    def distinct(column: Any) -> list[str]:
        query = joined(select(column).distinct()).where(scope, column.is_not(None))
        return sorted(str(v) for v in session.scalars(query))

    return Choices(distinct(source_column), distinct(theme_column), distinct(Agency.name))


def every_choice(session: Session) -> Choices:
    def of(query: Select[Any]) -> list[str]:
        return sorted({str(v) for v in session.scalars(query) if v is not None})

    sheet_items = exists().where(Obligation.mi_sheet_id == MISheet.id)
    action_items = exists().where(Obligation.action_id == Action.id)
    sheets = of(select(literal("MI ") + MISheet.number).where(sheet_items))
    themes = of(select(Action.theme).distinct().where(action_items))
    plans = of(select(Plan.title).join(Action, Action.plan_id == Plan.id).where(action_items))
    led = exists().where(Obligation.agency_id == Agency.id)
    return Choices(plans + sheets, sorted(themes + ([MI_SHEETS] if sheets else [])),
                   of(select(Agency.name).where(led)))  # fmt: skip


CSV_HEADER = ["Ref", "Plan or sheet", "Theme", "Item", "Lead", "Target date", "Stage", "Status"]


def csv_rows(found: Sequence[Line], stage_name: Any) -> list[list[str]]:
    return [
        [i.ref, i.source, i.theme, i.text, i.lead, i.target.isoformat() if i.target else "",
         stage_name(i.stage), i.status]
        for i in found
    ]  # fmt: skip
