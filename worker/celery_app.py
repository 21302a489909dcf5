"""The Celery application: at-least-once delivery settings and the one beat entry.

Tasks acknowledge late and are rejected if their worker dies, a worker takes one message at a
time, and due times live in the database rather than in long ETAs (the Redis transport
re-delivers anything unacknowledged after its visibility timeout). The beat runs one short
UTC tick; local send times are worked out in `worker.planning`, not by crontab.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from worker.app import App
from worker.paths import private_files
from worker.settings import Settings
from worker.transport import Transport, transport_for


class Runtime:
    """The worker process's application and mail transport, built on first use."""

    @cached_property
    def app(self) -> App:
        return App()

    @cached_property
    def transport(self) -> Transport:
        return transport_for(self.app.settings)

    def after_fork(self) -> None:
        # Connections inherited from the parent must not be shared with it.
        if "app" in self.__dict__:
            self.app.engine.dispose(close=False)
        self.__dict__.pop("transport", None)


runtime = Runtime()


def configure(celery: Celery, settings: Settings) -> None:
    celery.conf.update(
        broker_url=settings.broker_url,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        beat_schedule={"tick": {"task": "reminders.tick", "schedule": settings.tick_seconds}},
        beat_schedule_filename=str(settings.beat_schedule_file),
        timezone="UTC",
        enable_utc=True,
    )


def transport_options(settings: Settings) -> dict[str, Any]:
    """Redis re-delivers unacknowledged tasks after this; retries stay well below it."""
    if settings.broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": settings.visibility_timeout_seconds}
    return {}


private_files()  # this module is where worker and beat processes start
celery = Celery("reminders", include=["tasks.digests"])
configure(celery, runtime.app.settings)


def _after_fork(**_: Any) -> None:
    runtime.after_fork()


worker_process_init.connect(_after_fork)
