"""Celery tasks for digests: each takes an id or nothing, and calls one function in worker/."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from worker.celery_app import celery, runtime
from worker.delivery.ledger import deliver
from worker.delivery.tick import run_tick

DATABASE_RETRY_SECONDS = 5


@celery.task(name="reminders.tick")
def tick() -> int:
    """Plan the period when it is due, and push any row a lost worker left behind."""
    return len(run_tick(runtime.app, runtime.app.now(), send_digest.delay))


@celery.task(bind=True, name="reminders.send_digest", max_retries=None)
def send_digest(self: Any, delivery_id: int) -> str:
    """Send one planned digest; retried with backoff on a temporary failure."""
    app = runtime.app
    try:
        outcome = deliver(app.sessions, runtime.transport, app.settings, delivery_id, app.now())
    except DBAPIError as exc:
        # The database is unreachable: try again soon; the claim keeps a retry from doubling.
        raise self.retry(exc=exc, countdown=DATABASE_RETRY_SECONDS) from exc
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state
