"""The Celery application: at-least-once delivery settings and the one beat entry.

Tasks acknowledge late and are rejected if their worker dies, each sending thread takes one
message at a time, and due times live in the database rather than in long ETAs (the Redis
transport re-delivers anything unacknowledged after its visibility timeout). The beat runs one
short UTC tick; local send times are worked out in `worker.delivery.planning`, not by crontab.

A worker is one process with a pool of threads (`send_concurrency`, 8 by default): a send is
mostly waiting on the relay, so threads keep several sends in flight where prefork processes
would each hold one. Each thread keeps its own connection to the relay; the database pool is
as large as the thread pool. More processes (one per core) add CPU, not waiting.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from worker.app import App
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


worker_process_init.connect(_after_fork)
