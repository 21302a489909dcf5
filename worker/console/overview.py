"""The overview's figures, each from one aggregate query (or a short list), never every row.

They are the same for everyone who may see them (the business manager and the chair), so a
server process keeps the last set (worker/console/kept.py) and reuses it while nothing it
reads has moved (`revision`, one cheap query) and it is at most a minute old.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from worker.console.items import (
    DUE_SOON,
    OVERDUE,
    STATUSES,
    Filters,
    Line,
    joined,
    lines,
    status_column,
    theme_column,
    with_pauses,
)
from worker.directory.entries import Directory
from worker.directory.names import fold
from worker.directory.undeliverable import marked
from worker.mail.notify import COMPLAINT
from worker.models import (
    Action,
    DailyRun,
    Delivery,
    DeliveryState,
    DocumentSync,
    MISheet,
    Obligation,
    ObligationEvent,
    RetentionReview,
    StageChange,
    UndeliverableAddress,
)
from worker.rules.ladder import Rules

SHORT_LIST = 10
RECENT_DAYS = 30
WEEKS = 52


@dataclass(frozen=True)
class Listed:
    """The first few of a list, and how many there are in all."""

    lines: list[Line]
    total: int


@dataclass(frozen=True)
class Overview:
    stages: list[tuple[int, int]]  # (stage, open items at it), every stage of the ladder
    themes: dict[str, dict[str, int]]  # theme -> status -> items
    overdue: Listed
    due_soon: Listed
    resolved: Listed  # in the last RECENT_DAYS days
    unassigned: Listed
    dates_to_set: Listed  # actions whose plan says TBC or TBA: the business manager to ask
    unassessed: Listed
    problems: dict[int, str]  # obligation id -> why it could not be assessed
    failures: list[Delivery]
    failures_total: int
    refused: list[UndeliverableAddress]  # addresses refused for good, not yet corrected
    complaints: list[Delivery]  # digests their recipients reported as spam, latest first
    unknown_contacts: list[tuple[str, int]]  # LA contact names not in the directory, sheets
    unread_sessions: list[tuple[str, list[str]]]  # MI sheets' session lines not read
    due_before_published: list[tuple[str, date, date]]  # MI sheet, its due date, published
    retention: RetentionReview | None  # the latest review of what the schedule makes due
    weekly_overdue: list[tuple[date, int]]  # week ending, overdue items then


def overview(
    session: Session,
    directory: Directory,
    today: date,
    top: int,
    tz: ZoneInfo,
    rules: Rules | None = None,
) -> Overview:
    """The figures; with `rules`, the open items in the lists show their acknowledgement's
    pause."""
    recent = today - timedelta(days=RECENT_DAYS)

    def listed(filters: Filters, *also: ColumnElement[bool]) -> Listed:
        found = short_list(session, filters, *also)
        if rules is None:
            return found
        return Listed(with_pauses(session, found.lines, rules, today), found.total)

    failed = Delivery.state == DeliveryState.FAILED
    unassessed = short_list(session, Filters(), Obligation.problem_since.is_not(None))
    return Overview(
        stages=stage_counts(session, top),
        themes=theme_counts(session),
        overdue=listed(Filters(status=OVERDUE)),
        due_soon=listed(Filters(status=DUE_SOON, sort="target")),
        resolved=listed(Filters(), Obligation.resolved_on >= recent),
        unassigned=listed(
            Filters(), Obligation.kind == "unassigned", Obligation.resolved_on.is_(None)
        ),
        dates_to_set=listed(
            Filters(),
            Obligation.action_id.in_(select(Action.id).where(Action.date_to_set != "")),
            Obligation.resolved_on.is_(None),
        ),
        unassessed=unassessed,
        problems=problems(session, [line.id for line in unassessed.lines]),
        failures=list(
            session.scalars(
                select(Delivery).where(failed).order_by(Delivery.id.desc()).limit(SHORT_LIST)
            )
        ),
        failures_total=session.scalar(select(func.count(Delivery.id)).where(failed)) or 0,
        refused=list(marked(session).values()),
        complaints=list(
            session.scalars(
                select(Delivery)
                .where(Delivery.receipt == COMPLAINT)
                .order_by(Delivery.id.desc())
                .limit(SHORT_LIST)
            )
        ),
        unknown_contacts=unknown_contacts(session, directory),
        unread_sessions=unread_sessions(session),
        due_before_published=due_before_published(session, tz),
        retention=session.scalar(select(RetentionReview).order_by(RetentionReview.id.desc())),
        weekly_overdue=weekly_overdue(session, today),
    )


def short_list(session: Session, filters: Filters, *also: ColumnElement[bool]) -> Listed:
    found, total = lines(session, None, filters, SHORT_LIST, also)
    return Listed(found, total)


def problems(session: Session, ids: list[int]) -> dict[int, str]:
    query = select(Obligation.id, Obligation.problem).where(Obligation.id.in_(ids))
    return {id_: problem or "" for id_, problem in session.execute(query)}


def stage_counts(session: Session, top: int) -> list[tuple[int, int]]:
    query = (
        select(Obligation.stage, func.count())
        .where(Obligation.resolved_on.is_(None))
        .group_by(Obligation.stage)
    )
    found = dict(session.execute(query).all())
    return [(stage, found.get(stage, 0)) for stage in range(-1, top + 1)]


def theme_counts(session: Session) -> dict[str, dict[str, int]]:
    query = joined(select(theme_column, status_column, func.count())).group_by(
        theme_column, status_column
    )
    themes: dict[str, dict[str, int]] = {}
    for theme, status, n in session.execute(query):
        themes.setdefault(theme, dict.fromkeys(STATUSES, 0))[status] = n
    return dict(sorted(themes.items()))


def unknown_contacts(session: Session, directory: Directory) -> list[tuple[str, int]]:
    """LA contacts named by MI sheets whom the directory does not know, with their sheets."""
    known = {fold(p.name) for p in directory.la_contacts}
    query = (
        select(MISheet.contact_name, func.count())
        .where(MISheet.contact_name.is_not(None))
        .group_by(MISheet.contact_name)
    )
    named = session.execute(query)
    return sorted((name, n) for name, n in named if name and fold(name) not in known)


def unread_sessions(session: Session) -> list[tuple[str, list[str]]]:
    """Each MI sheet whose import could not read a line announcing a session, and the lines."""
    query = select(MISheet.number, MISheet.unread_sessions).order_by(MISheet.number)
    return [(number, list(lines)) for number, lines in session.execute(query) if lines]


def due_before_published(session: Session, tz: ZoneInfo) -> list[tuple[str, date, date]]:
    """MI sheets whose To Be Completed By is earlier than their publication (as written)."""
    dated = MISheet.due_date.is_not(None), MISheet.published_at.is_not(None)
    query = select(MISheet.number, MISheet.due_date, MISheet.published_at).where(*dated)
    found = []
    for number, due, at in session.execute(query):
        if due is not None and at is not None and due < at.astimezone(tz).date():
            found.append((number, due, at.astimezone(tz).date()))
    return sorted(found)


def weekly_overdue(session: Session, today: date, weeks: int = WEEKS) -> list[tuple[date, int]]:
    """How many items were overdue at the end of each of the last `weeks` weeks, from the
    stage history: an item counts from the day it entered stage 1 (or above) until it went
    back below it or was resolved. An item already past its target date when the service
    first recorded it at stage 1 (imported late, say) counts from the day after that target
    date, as its plan records it; one whose target was since revised counts from its stage
    history alone (the date it had then is not on record)."""
    deltas: Counter[date] = Counter()
    up = StageChange.from_stage < 1, StageChange.to_stage >= 1
    down = StageChange.from_stage >= 1, StageChange.to_stage < 1
    for condition, sign in ((up, 1), (down, -1)):
        query = select(StageChange.on, func.count()).where(*condition).group_by(StageChange.on)
        for on, n in session.execute(query):
            deltas[on] += sign * n
    for since, first_up, n in overdue_before_recorded(session):
        deltas[since] += n
        deltas[first_up] -= n
    resolved = (
        select(Obligation.resolved_on, func.count())
        .where(Obligation.resolved_on.is_not(None), Obligation.stage >= 1)
        .group_by(Obligation.resolved_on)
    )
    for day, n in session.execute(resolved):
        if day is not None:
            deltas[day] -= n
    ends = [today - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    days, running, result, i = sorted(deltas), 0, [], 0
    for end in ends:
        while i < len(days) and days[i] <= end:
            running, i = running + deltas[days[i]], i + 1
        result.append((end, max(running, 0)))
    return result


def overdue_before_recorded(session: Session) -> list[tuple[date, date, int]]:
    """(the day after the target date, the day first recorded at stage 1, how many items)
    for the items past their target date before their first recorded move to stage 1."""
    first_up = (
        select(StageChange.obligation_id, func.min(StageChange.on).label("on"))
        .where(StageChange.from_stage < 1, StageChange.to_stage >= 1)
        .group_by(StageChange.obligation_id)
        .subquery()
    )
    retargeted = (ObligationEvent.obligation_id == Obligation.id,
                  ObligationEvent.kind == "retargeted")  # fmt: skip
    query = (
        select(Obligation.target_date, first_up.c.on, func.count())
        .join(first_up, first_up.c.obligation_id == Obligation.id)
        .where(Obligation.target_date.is_not(None), Obligation.target_date < first_up.c.on)
        .where(~exists().where(*retargeted))
        .group_by(Obligation.target_date, first_up.c.on)
    )
    found = []
    for target, on, n in session.execute(query):
        since = target + timedelta(days=1)
        if since < on:
            found.append((since, on, n))
    return found


def revision(session: Session) -> tuple[Any, ...]:
    """A mark that moves when an item is added, an event or stage change is recorded, a run
    or sync is made, a delivery is made, fails or is reported as spam, or an item cannot be
    assessed: the newest id of each, and four counts (small reads: the runs are one row a day)."""
    return tuple(session.execute(revision_query()).one())


@cache
def revision_query() -> Select[Any]:
    """`revision`'s one statement, built once: it is asked on every overview and items page."""
    newest = [select(func.max(m.id)).scalar_subquery()
              for m in (Obligation, ObligationEvent, StageChange, DailyRun, DocumentSync,
                        Delivery)]  # fmt: skip
    failed = select(func.count(Delivery.id)).where(Delivery.state == DeliveryState.FAILED)
    complaints = select(func.count(Delivery.id)).where(Delivery.receipt == COMPLAINT)
    # Counted where the index has them (few rows), never by reading every item.
    unassessed = select(func.count()).where(Obligation.problem_since.is_not(None))
    assessed = select(func.sum(DailyRun.assessed))  # grows with every run that looked
    marks = [*newest, *(q.scalar_subquery() for q in (failed, complaints, unassessed, assessed))]
    return select(*marks)
