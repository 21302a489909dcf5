"""The tick: plan the current period once, then queue what needs sending.

Tasks are queued only after the transaction that wrote their rows has committed, and take
ids, never objects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from worker.app import App
from worker.db import transaction
from worker.delivery import mark_enqueued, needing_a_push
from worker.planning import plan, send_period
from worker.rules import Rules


def run_tick(app: App, now: datetime, enqueue: Callable[[int], object]) -> list[int]:
    rules = app.rules()
    period = send_period(now, rules, app.timezone)
    if period is not None:
        plan_once(app, rules, period)
    with transaction(app.sessions) as session:
        ids = needing_a_push(session, now, app.settings.requeue_after_seconds)
        mark_enqueued(session, ids, now)
    for delivery_id in ids:
        enqueue(delivery_id)
    return ids


def plan_once(app: App, rules: Rules, period: date) -> list[int]:
    """Plan `period` unless it already is (by us earlier, or by another beat right now)."""
    try:
        with transaction(app.sessions) as session:
            return plan(session, rules, app.timezone, period, app.partnership_label())
    except IntegrityError:
        return []
