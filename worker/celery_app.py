"""The Celery application: at-least-once delivery settings and the one beat entry.

Tasks acknowledge late and are rejected if their worker dies, each sending thread takes one
message at a time, and due times live in the database rather than in long ETAs (the Redis
transport re-delivers anything unacknowledged after its visibility timeout). The beat runs one
short UTC tick; local send times are worked out in `worker.delivery.planning`, not by crontab.

Nothing stops the beat for good: its scheduler (`Scheduler`) survives any one failure of its
own (the broker unwritable, the schedule file on a full disk) and tries again shortly, and
every periodic task's start, success or failure is recorded (`worker.delivery.jobs`), so an
operator sees when each last ran.

A worker is one process with a pool of threads (`send_concurrency`, 8 by default): a send is
mostly waiting on the relay, so threads keep several sends in flight where prefork processes
would each hold one. Each thread keeps its own connection to the relay; the database pool is
as large as the thread pool. More processes (one per core) add CPU, not waiting.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import task_failure, task_prerun, task_success, worker_process_init

from worker.app import App
from worker.delivery import jobs
from worker.mail.transport import Transport
from worker.mail.transports import transport_for
from worker.paths import private_files
from worker.settings import Settings


class Runtime:
    """The worker process's application, built on first use, and each thread's transport."""

    def __init__(self) -> None:
        self.local = threading.local()

    @cached_property
    def app(self) -> App:
        return App()

    @property
    def transport(self) -> Transport:
        """This thread's own transport: an SMTP connection is one conversation at a time."""
        transport: Transport | None = getattr(self.local, "transport", None)
        if transport is None:
            transport = self.local.transport = transport_for(self.app.settings)
        return transport

    def after_fork(self) -> None:
        # Connections inherited from the parent must not be shared with it.
        if "app" in self.__dict__:
            self.app.engine.dispose(close=False)
        self.local = threading.local()


runtime = Runtime()
log = logging.getLogger(__name__)
# The beat's tasks, by the name their runs are recorded under.
PERIODIC = {"reminders.tick": jobs.TICK, "reminders.backup": jobs.BACKUP,
            "reminders.bounces": jobs.BOUNCES}  # fmt: skip
RETRY_SECONDS = 5.0  # how soon the beat tries again after a failure of its own


class Scheduler(PersistentScheduler):  # type: ignore[misc]  # Celery has no types
    """Celery's persistent scheduler, which no single failure stops: an error in a tick or
    in writing the schedule file is logged and tried again, where Celery's own beat would
    end (silently, when it runs inside the worker)."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            return float(super().tick(*args, **kwargs))
        except Exception:
            log.exception("the beat could not run its schedule; it tries again shortly")
            return RETRY_SECONDS

    def sync(self) -> None:
        try:
            super().sync()
        except Exception:
            log.exception("the beat could not write its schedule file; it tries again later")


def configure(celery: Celery, settings: Settings) -> None:
    celery.conf.update(
        broker_url=settings.broker_url,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_pool="threads",
        worker_concurrency=settings.send_concurrency,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        beat_schedule=beat_schedule(settings),
        beat_schedule_filename=str(settings.beat_schedule_file),
        beat_scheduler="worker.celery_app:Scheduler",
        timezone="UTC",
        enable_utc=True,
    )


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The tick; the check for the day's backup when a backup folder is set; the reading of
    the bounce mailbox when one is set."""
    schedule = {"tick": {"task": "reminders.tick", "schedule": settings.tick_seconds}}
    if settings.backup_dir is not None:
        check = settings.backup_check_seconds
        schedule["backup"] = {"task": "reminders.backup", "schedule": check}
    if settings.bounce_maildir is not None:
        check = settings.bounce_check_seconds
        schedule["bounces"] = {"task": "reminders.bounces", "schedule": check}
    return schedule


def transport_options(settings: Settings) -> dict[str, Any]:
    """Redis re-delivers unacknowledged tasks after this; retries stay well below it."""
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": settings.visibility_timeout_seconds}
    return {}


private_files()  # this module is where worker and beat processes start
celery = Celery("reminders", include=["tasks.digests", "tasks.backups", "tasks.bounces"])
configure(celery, runtime.app.settings)


def _after_fork(**_: Any) -> None:
    runtime.after_fork()


def _clock() -> datetime:
    return runtime.app.now() if "app" in runtime.__dict__ else datetime.now(UTC)


def _started(sender: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) in PERIODIC:
        jobs.started(runtime.app.sessions, PERIODIC[sender.name], _clock())


def _succeeded(sender: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) in PERIODIC:
        jobs.succeeded(runtime.app.sessions, PERIODIC[sender.name], _clock())


def _failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    if getattr(sender, "name", None) in PERIODIC:
        error = exception or RuntimeError("the task failed")
        jobs.failed(runtime.app.sessions, PERIODIC[sender.name], _clock(), error)


worker_process_init.connect(_after_fork)
task_prerun.connect(_started)
task_success.connect(_succeeded)
task_failure.connect(_failed)
