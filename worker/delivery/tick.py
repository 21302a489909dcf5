"""The tick: plan the current period once, tell at once of stages entered within the day
(`plan_notices`), queue what needs sending, keep the feeds current, and raise the alarm when
a day's digests did not go out (`worker.delivery.alarm`).

Tasks are queued only after the transaction that wrote their rows has committed, and take
ids, never objects. The business manager's directory and rules come from `App.config`,
read again when they change; a broken edit is reported and the last good version stays in
force, so the worker never stops (or crash-loops) over a typing mistake in either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from worker.app import App
from worker.db import transaction
from worker.delivery import alarm, jobs
from worker.delivery.ledger import mark_enqueued, needing_a_push
from worker.delivery.planning import Cover, plan, plan_notices, send_period
from worker.directory.recipients import Person
from worker.importers import history
from worker.mail.digest import KIND
from worker.mail.links import digest_links
from worker.models import PlanRun
from worker.obligations import take_turn
from worker.rules.ladder import Rules
from worker.workdays import local_date
from worker.yaml_files import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_tick(app: App, now: datetime, enqueue: Callable[[int], object]) -> list[int]:
    """One tick; the ids queued. Each step is tried whatever became of the one before (a
    period that cannot be planned does not keep back the digests already planned, nor the
    alarm), and the first failure is raised at the end: the tick is recorded as failed, and
    the next one tries again."""
    rules = app.rules()  # the last good version; ConfigError only if none was ever read
    failures: list[Exception] = []

    def attempt(step: Callable[[], T], what: str) -> T | None:
        try:
            return step()
        except Exception as exc:  # any one step's failure: the others still run
            log.exception("the tick could not %s; the next tick tries again", what)
            failures.append(exc)
            return None

    period = send_period(now, rules, app.timezone)
    if period is not None:
        attempt(lambda: daily_run(app, rules, period, now), "plan the period")
    attempt(lambda: tell_at_once(app, rules, now), "tell of the stages entered within the day")
    ids = attempt(lambda: push(app, now, enqueue), "queue the digests waiting") or []
    publish_feeds(app)
    attempt(lambda: alarm.watch(app, now), "check that the day's digests went")
    attempt(lambda: forget_previews(app, now), "remove the documents of previews that are over")
    if failures:
        raise failures[0]
    return ids


def forget_previews(app: App, now: datetime) -> None:
    """Documents uploaded only for a preview, removed once no session that made one lasts."""
    over = now - timedelta(hours=app.settings.session_lifetime_hours)
    with app.sessions() as session:
        history.forget_previews(session, app.settings.imports_dir, over)


def push(app: App, now: datetime, enqueue: Callable[[int], object]) -> list[int]:
    """Queue every planned digest waiting to go (a lost broker or worker left it)."""
    with transaction(app.sessions) as session:
        ids = needing_a_push(session, now, app.settings.requeue_after_seconds)
        mark_enqueued(session, ids, now)
    for delivery_id in ids:
        enqueue(delivery_id)
    return ids


def planned(app: App, period: date) -> bool:
    with app.sessions() as session:
        query = select(PlanRun.id).where(PlanRun.kind == KIND, PlanRun.period == period)
        return session.scalar(query) is not None


def daily_run(app: App, rules: Rules, period: date, now: datetime) -> None:
    """The period assessed and planned unless it is (by another beat, say), its run
    recorded."""
    if planned(app, period):
        return
    alarm.planning_started(app, period, now)
    with jobs.recorded(app.sessions, jobs.DAILY_RUN, app.now):
        plan_once(app, rules, period, in_step(app))


def tell_at_once(app: App, rules: Rules, now: datetime) -> list[int]:
    """The stages entered within the day since the last plan, told now (`plan_notices`)."""
    links = digest_links(app.settings, app.now())
    label = in_step(app)
    try:
        with transaction(app.sessions) as session:
            take_turn(session)
            cover = cover_on(app, local_date(now, app.timezone))
            return plan_notices(session, rules, app.timezone, now, label, links, cover)
    except IntegrityError:  # another beat told them
        return []


def publish_feeds(app: App) -> None:
    """The public feeds written again if anything they show changed by a path that did not
    write them itself; a failure is logged and never stops the digests."""
    try:
        app.publish_feeds()
    except (OSError, SQLAlchemyError):
        log.exception("the public feeds could not be written; they are tried at the next tick")


def in_step(app: App) -> str:
    """The directory in force brought into the database; the partnership's name."""
    try:
        app.sync_directory()
        return app.partnership_label()
    except ConfigError:  # never read a good one: the database keeps the last synced
        return "Partnership"


def cover_on(app: App, period: date) -> Cover:
    """Who is away in `period`, by the directory in force, and who covers for them."""
    away = app.directory().covering(period)
    return {email: Person(d.name, str(d.email).lower()) for email, d in away.items()}


def plan_once(app: App, rules: Rules, period: date, label: str) -> list[int]:
    """Plan `period` unless it already is (by us earlier, or by another beat right now)."""
    links = digest_links(app.settings, app.now())
    try:
        with transaction(app.sessions) as session:
            cover = cover_on(app, period)
            return plan(session, rules, app.timezone, period, label, links, cover)
    except IntegrityError:
        return []
