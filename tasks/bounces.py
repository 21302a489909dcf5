"""The Celery task that reads the bounce mailbox: nothing in, one call into worker/delivery/."""

from __future__ import annotations

from worker.celery_app import celery, runtime
from worker.delivery.bounces import read_bounces


@celery.task(name="reminders.bounces")
def bounces() -> list[str]:
    """Late bounces into the ledger, when `bounce_maildir` is set: the addresses marked."""
    folder = runtime.app.settings.bounce_maildir
    return read_bounces(runtime.app.sessions, folder).marked if folder else []
