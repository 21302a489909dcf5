"""The items list: filtered, sorted and paged in the database, never read whole.

Status comes from what the daily run stored on each obligation: complete (resolved), overdue
(stage 1 or more), due soon (stage 0), no target date (the rest of those whose action's target
is still to be set, "TBC", or that have no target date at all, unless a target was set since),
on track (the rest). `status_column` and `status_is` say it in SQL, `status_of_item` in
Python: the three agree.

The filters' values are parameters of the statements, so the statements of a view of
everyone's items are built once per process for each shape of filters (`Statements`), and
a page's rows come back as plain tuples (`Line`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, NamedTuple
from urllib.parse import urlencode

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased, selectinload

from worker.models import (
    Action,
    Agency,
    Establishment,
    MISheet,
    Obligation,
    ObligationEvent,
    Plan,
    Recommendation,
)
from worker.obligations import engine_view
from worker.obligations.view import RECOMMENDATIONS
from worker.rules import engine
from worker.rules.ladder import Rules

COMPLETE, OVERDUE, DUE_SOON, ON_TRACK = "complete", "overdue", "due soon", "on track"
NO_TARGET = "no target date"
STATUSES = (OVERDUE, DUE_SOON, ON_TRACK, NO_TARGET, COMPLETE)
MI_SHEETS = "MI sheets"
SORTS = {"worst": "Worst first", "target": "Target date", "ref": "Reference"}
# The Agency filter's value for the open items no agency in the directory answers to (the
# overview's Unassigned list); the parentheses keep it apart from an agency's name.
UNASSIGNED = "(unassigned)"
PAGE_SIZE = 50

# Aliases of their own, so the conditions below stay correlated subqueries even in a query
# that joins the actions already.
_TBC_ACTION = aliased(Action)
_RETARGET = aliased(ObligationEvent)
# No target date: the document gave none (a "TBC" action is reviewed for progress meanwhile,
# so it has a review date but still no target), and none was set in the console since.
undated = and_(
    or_(
        Obligation.target_date.is_(None),
        exists().where(_TBC_ACTION.id == Obligation.action_id, _TBC_ACTION.date_to_set != ""),
    ),
    not_(exists().where(_RETARGET.obligation_id == Obligation.id, _RETARGET.kind == "retargeted")),
)
status_column = case(
    (Obligation.resolved_on.is_not(None), COMPLETE),
    (Obligation.stage >= 1, OVERDUE),
    (Obligation.stage == 0, DUE_SOON),
    (undated, NO_TARGET),
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
        """The filters set, as SQL whose values are the parameters `values` gives."""
        found: list[ColumnElement[bool]] = []
        if self.source:
            found.append(source_column == bindparam("source"))
        if self.theme:
            found.append(theme_column == bindparam("theme"))
        if self.agency == UNASSIGNED:
            found.append(and_(Obligation.kind == "unassigned", Obligation.resolved_on.is_(None)))
        elif self.agency:
            named = Agency.name == bindparam("agency")  # names are unique
            found.append(Obligation.agency_id == select(Agency.id).where(named).scalar_subquery())
        if self.stage is not None:
            found.append(Obligation.stage == bindparam("stage"))
        if self.status:
            found.append(status_is(self.status))
        return found

    def values(self) -> dict[str, Any]:
        """The parameters of `conditions`."""
        agency = "" if self.agency == UNASSIGNED else self.agency
        given = {"source": self.source, "theme": self.theme, "agency": agency}
        stage = {} if self.stage is None else {"stage": self.stage}
        return {**{k: v for k, v in given.items() if v}, **stage}

    def shape(self) -> tuple[Hashable, ...]:
        """What decides the statements (not the values): equal shapes, the same SQL."""
        agency = "unassigned" if self.agency == UNASSIGNED else bool(self.agency)
        return (bool(self.source), bool(self.theme), agency, self.stage is not None,
                self.status, self.sort)  # fmt: skip


def status_is(status: str) -> ColumnElement[bool]:
    """The items of `status`, in a form the (resolved_on, stage) index can serve."""
    open_ = Obligation.resolved_on.is_(None)
    return {
        COMPLETE: Obligation.resolved_on.is_not(None),
        OVERDUE: and_(open_, Obligation.stage >= 1),
        DUE_SOON: and_(open_, Obligation.stage == 0),
        ON_TRACK: and_(open_, Obligation.stage < 0, not_(undated)),
        NO_TARGET: and_(open_, Obligation.stage < 0, undated),
    }[status]


def status_of_item(row: Obligation, *, complete: bool = False) -> str:
    """`status_column` of `row`, read from the row, its action and its events; `complete`
    counts it complete whatever the daily run recorded."""
    if complete or row.resolved_on is not None:
        return COMPLETE
    if row.stage >= 1:
        return OVERDUE
    if row.stage == 0:
        return DUE_SOON
    to_set = row.target_date is None or (row.action is not None and row.action.date_to_set != "")
    if to_set and not any(event.kind == "retargeted" for event in row.events):
        return NO_TARGET
    return ON_TRACK


def page_number(query: Mapping[str, str]) -> int:
    """The page asked for: a small positive number, else the first."""
    page = query.get("page", "1")
    return max(1, int(page)) if page.isdigit() and len(page) < 7 else 1


class Line(NamedTuple):
    """One item as a row of the list: a plain tuple."""

    id: int
    ref: str
    source: str
    theme: str
    text: str
    lead: str
    target: date | None
    stage: int
    status: str
    paused_until: date | None = None  # acknowledged: the last day its escalation is paused


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
    narrower = [*([scope] if scope is not None else []), *also]
    made = Statements.of(filters, narrower, limited=limit is not None)
    values = filters.values()
    if limit is not None:
        values |= {"limit": limit, "offset": (filters.page - 1) * limit}
    connection = session.connection()  # plain rows, without the ORM's work for each
    total = connection.scalar(made.total, values) or 0
    return [line(r) for r in connection.execute(made.rows, values)], total


@dataclass(frozen=True)
class Statements:
    """A view's two statements: how many items, and their rows (a page's, or all)."""

    total: Select[Any]
    rows: Select[Any]

    @classmethod
    def of(cls, filters: Filters, narrower: Sequence[ColumnElement[bool]], *, limited: bool
           ) -> Statements:  # fmt: skip
        """Built for `filters`, or, with nothing narrower (everyone's items), this process's
        of the same shape."""
        if narrower:
            return cls.built(filters, narrower, limited)
        key = (filters.shape(), limited)
        made = EVERYONES.get(key)
        if made is None:
            made = EVERYONES[key] = cls.built(filters, (), limited)
        return made

    @classmethod
    def built(cls, filters: Filters, narrower: Sequence[ColumnElement[bool]], limited: bool
              ) -> Statements:  # fmt: skip
        where = [*filters.conditions(), *narrower]
        total = narrowed(select(func.count(Obligation.id)), filters, where)
        ordered = ordering(filters.sort)
        if not limited:
            return cls(total, joined(columns()).where(*where).order_by(*ordered))
        # The page's items found first, from the items alone where it can; then their rows.
        page = narrowed(select(Obligation.id), filters, where).order_by(*ordered)
        chosen = page.limit(bindparam("limit")).offset(bindparam("offset")).scalar_subquery()
        return cls(total, joined(columns()).where(Obligation.id.in_(chosen)).order_by(*ordered))


# The statements of views of everyone's items, by shape: at most a few hundred.
EVERYONES: dict[tuple[Hashable, ...], Statements] = {}


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


def with_pauses(session: Session, found: list[Line], rules: Rules, today: date) -> list[Line]:
    """`found`, each open item whose acknowledgement pauses its escalation today marked with
    the pause's last day, as the engine works it out (only acknowledged items are read)."""
    open_ = [line.id for line in found if line.status != COMPLETE]
    if not open_:
        return found
    acknowledged = select(ObligationEvent.obligation_id).where(
        ObligationEvent.obligation_id.in_(open_), ObligationEvent.kind == "acknowledged"
    )
    # Those the daily run could not assess are listed as such on the overview, not here.
    assessable = Obligation.problem_since.is_(None)
    rows = select(Obligation).where(Obligation.id.in_(acknowledged.distinct()), assessable)
    ladder, calendar, until = rules.ladder(), rules.calendar(), {}
    for row in session.scalars(rows.options(selectinload(Obligation.events))):
        decision = engine.decide(engine_view(row), ladder, calendar, today)
        if decision.paused_until is not None:
            until[row.id] = decision.paused_until
    return [line._replace(paused_until=until.get(line.id)) for line in found]


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
