"""What the item, deliveries, calendars and people pages read: small queries, one page each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from worker.app import App
from worker.console.items import page_number, status_of_item
from worker.feeds.agency import shown_token
from worker.models import (
    Agency,
    AgencyFeed,
    ConsoleAction,
    Delivery,
    DeliveryState,
    LinkUse,
    Obligation,
)
from worker.obligations import completed, explain, view_of

DELIVERY_PAGE = 50


@dataclass(frozen=True)
class Happened:
    """One event on an item, with where it was done from when that is known."""

    on: str
    kind: str
    by: str
    note: str
    recorded_at: datetime
    via: str  # "console", "digest link", "" (a command or an import)
    client: str | None


def status_of(row: Obligation) -> str:
    """As the lists show it, but a completion recorded since the daily run counts at once."""
    return status_of_item(row, complete=completed(row))


def item_context(session: Session, app: App, row: Obligation) -> dict[str, Any]:
    rules = app.rules()
    return {
        "row": row,
        "view": view_of(row),
        "standing": status_of(row),
        "stage_name": rules.ladder().stage_name(row.stage),
        "lead": lead_of(row),
        "why": explain(row, rules, app.today(), app.timezone),
        "deliveries": deliveries_of(session, row.key),
        "events": happened(session, row),
        "today": app.today(),  # sessions before it are shown as held
    }


def lead_of(row: Obligation) -> str:
    if row.establishment is not None:
        return row.establishment.name
    if row.agency is not None:
        return row.agency.name
    return row.lead_name or "nobody (unassigned)"


def deliveries_of(session: Session, key: str, limit: int = 20) -> list[Delivery]:
    """The digests that carried this item, newest first. The payload is searched as text:
    fine for one item's page; a table of items per delivery would be needed at scale."""
    fragment = f'"key": {json.dumps(key)}'
    query = (
        select(Delivery)
        .where(cast(Delivery.payload, Text).contains(fragment, autoescape=True))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def happened(session: Session, row: Obligation) -> list[Happened]:
    ids = [e.id for e in row.events]
    consoled = dict(session.execute(
        select(ConsoleAction.event_id, ConsoleAction.client).where(ConsoleAction.event_id.in_(ids))
    ).all())  # fmt: skip
    linked = dict(session.execute(
        select(LinkUse.event_id, LinkUse.client).where(LinkUse.event_id.in_(ids))
    ).all())  # fmt: skip
    found = []
    for e in row.events:
        via = "console" if e.id in consoled else "digest link" if e.id in linked else ""
        client = consoled.get(e.id) or linked.get(e.id)
        found.append(Happened(e.on.isoformat(), e.kind, e.by, e.note, e.recorded_at, via, client))
    return found


@dataclass(frozen=True)
class DeliveryFilter:
    person: str = ""
    outcome: str = ""
    page: int = 1

    @classmethod
    def of(cls, query: dict[str, str]) -> DeliveryFilter:
        outcome = query.get("outcome", "")
        return cls(
            query.get("person", "").strip().lower()[:320],
            outcome if outcome in {s.value for s in DeliveryState} else "",
            page_number(query),
        )


def delivery_log(
    session: Session, wanted: DeliveryFilter, only: str | None
) -> tuple[list[Delivery], int]:
    """A page of the log, newest first; `only` limits it to one recipient."""
    where = []
    if only is not None:
        where.append(func.lower(Delivery.recipient) == only)
    if wanted.person:
        where.append(func.lower(Delivery.recipient).contains(wanted.person, autoescape=True))
    if wanted.outcome:
        where.append(Delivery.state == DeliveryState(wanted.outcome))
    total = session.scalar(select(func.count(Delivery.id)).where(*where)) or 0
    query = (
        select(Delivery).where(*where).order_by(Delivery.id.desc())
        .limit(DELIVERY_PAGE).offset((wanted.page - 1) * DELIVERY_PAGE)
    )  # fmt: skip
    return list(session.scalars(query)), total


@dataclass(frozen=True)
class FeedLine:
    agency: str
    agency_id: int
    made: datetime | None
    token: str | None  # None: no address, or one made before addresses could be shown


def feed_lines(session: Session, key: bytes, agencies: set[str] | None) -> list[FeedLine]:
    """Each agency's feed (only `agencies` when given), with its token when it can be shown."""
    feeds = {f.agency_id: f for f in session.scalars(select(AgencyFeed))}
    found = []
    for agency in session.scalars(select(Agency).order_by(Agency.name)):
        if agencies is not None and agency.name not in agencies:
            continue
        feed = feeds.get(agency.id)
        token = shown_token(feed, key) if feed else None
        found.append(FeedLine(agency.name, agency.id, feed.created_at if feed else None, token))
    return found


def latest_actions(session: Session) -> list[ConsoleAction]:
    """The latest changes made in the console, for the people page."""
    query = select(ConsoleAction).order_by(ConsoleAction.id.desc()).limit(30)
    return list(session.scalars(query))
