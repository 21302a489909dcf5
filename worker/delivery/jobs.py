"""The record of the periodic jobs: when each last started, succeeded and failed, and why.

Every job the beat runs (the tick, the day's backup, the bounce mailbox) is recorded here by
the worker (`worker.celery_app`, around each task), and the daily run by the tick when it
plans a period. The record is written in a transaction of its own, so a job that fails and
rolls back still leaves its failure; when even that cannot be written (the database is
down), the log says so and the job goes on as it would have. `reminders status`, the
overview and `/health/ready` read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.mail.transport import DailyLimitError
from worker.models import Delivery, DeliveryState, DigestWatch, JobRun

log = logging.getLogger(__name__)

TICK, DAILY_RUN, BACKUP, BOUNCES = "tick", "daily run", "backup", "bounces"
ERROR_LIMIT = 2000


@contextmanager
def recorded(sessions: sessionmaker[Session], name: str, now: Callable[[], datetime]
             ) -> Iterator[None]:  # fmt: skip
    """Record `name` as started, then as succeeded or failed (the error re-raised)."""
    started(sessions, name, now())
    try:
        yield
    except Exception as exc:
        failed(sessions, name, now(), exc)
        raise
    succeeded(sessions, name, now())


def started(sessions: sessionmaker[Session], name: str, at: datetime) -> None:
    note(sessions, name, {"started_at": at})


def succeeded(sessions: sessionmaker[Session], name: str, at: datetime) -> None:
    note(sessions, name, {"succeeded_at": at, "failures": 0})


def failed(sessions: sessionmaker[Session], name: str, at: datetime, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    note(sessions, name, {"failed_at": at, "error": error, "failures": JobRun.failures + 1})


def note(sessions: sessionmaker[Session], name: str, values: dict[str, object]) -> None:
    """Update the job's row, made on its first run; best effort."""
    try:
        for _ in range(2):  # a second beat may make the row between our two statements
            try:
                with transaction(sessions) as session:
                    if write(session, name, values):
                        return
            except IntegrityError:
                continue
    except SQLAlchemyError:
        log.exception("the run of %s could not be recorded", name)


def write(session: Session, name: str, values: dict[str, object]) -> bool:
    done = session.execute(update(JobRun).where(JobRun.name == name).values(**values))
    if getattr(done, "rowcount", 0):
        return True
    first = {k: (1 if k == "failures" and not isinstance(v, int) else v) for k, v in values.items()}
    session.add(JobRun(name=name, **first))
    session.flush()
    return True


@dataclass(frozen=True)
class Run:
    """One job's record as read."""

    name: str
    started_at: datetime | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    error: str | None
    failures: int

    @property
    def failing(self) -> bool:
        return self.failures > 0


@dataclass(frozen=True)
class Status:
    """How the service stands: each job's last run, the digests waiting, the last one sent,
    and the latest alarm about a day's digests."""

    runs: dict[str, Run]
    waiting: int
    held: int
    last_sent_at: datetime | None
    alarm: DigestWatch | None
    paused_until: datetime | None = None  # the provider's daily limit: waiting for its reset

    def run(self, name: str) -> Run | None:
        return self.runs.get(name)


def status(session: Session) -> Status:
    runs = {
        r.name: Run(r.name, r.started_at, r.succeeded_at, r.failed_at, r.error, r.failures)
        for r in session.scalars(select(JobRun))
    }
    query = select(Delivery.state, func.count()).group_by(Delivery.state)
    states: dict[DeliveryState, int] = {state: n for state, n in session.execute(query)}
    waiting = states.get(DeliveryState.PENDING, 0) + states.get(DeliveryState.SENDING, 0)
    last_sent = session.scalar(select(func.max(Delivery.sent_at)))
    alarms = select(DigestWatch).where(DigestWatch.alarm_at.is_not(None))
    alarm = session.scalar(alarms.order_by(DigestWatch.period.desc()).limit(1))
    if alarm is not None:
        session.expunge(alarm)
    paused = session.scalar(
        select(func.max(Delivery.next_attempt_at)).where(
            Delivery.state == DeliveryState.PENDING,
            Delivery.last_error.startswith(DailyLimitError.PREFIX),
        )
    )
    return Status(runs, waiting, states.get(DeliveryState.HELD, 0), last_sent, alarm, paused)
