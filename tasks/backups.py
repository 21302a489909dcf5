"""The Celery task for the day's backup: nothing in, one call into worker/backups/."""

from __future__ import annotations

from worker.backups.scheduled import daily
from worker.celery_app import celery, runtime


@celery.task(name="reminders.backup")
def backup() -> str | None:
    """The day's backup, when `backup_dir` is set and it is not made yet."""
    made = daily(runtime.app, runtime.app.now())
    return str(made) if made else None
