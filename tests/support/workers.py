"""Running the real worker in tests: its environment, its processes, and waiting on them."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import redis
from sqlalchemy import select

from tests.support.services import celery_process, wait_for
from worker.app import App
from worker.cli.digests import would_send
from worker.mail.digest import Digest
from worker.models import Delivery, DeliveryState


def offset_to(moment: datetime) -> str:
    """REMINDERS_CLOCK_OFFSET that makes the worker's clock read `moment` now."""
    seconds = (moment - datetime.now(UTC)).total_seconds()
    return f"{'-' if seconds < 0 else ''}PT{abs(seconds):.0f}S"


def worker_env(app: App, broker: str, smtp_port: int, moment: datetime) -> dict[str, str]:
    return {
        "REMINDERS_DATABASE_URL": app.settings.database_url,
        "REMINDERS_BROKER_URL": broker,
        "REMINDERS_SMTP__HOST": "127.0.0.1",
        "REMINDERS_SMTP__PORT": str(smtp_port),
        "REMINDERS_SMTP__STARTTLS": "false",
        "REMINDERS_TICK_SECONDS": "1",
        "REMINDERS_RETRY_FIRST_DELAY_SECONDS": "0.5",
        "REMINDERS_CLOCK_OFFSET": offset_to(moment),
    }


def flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


def expected_digests(app: App, period: date) -> dict[str, Digest]:
    return {d.email: d for d in would_send(app, period)}


@contextmanager
def run_workers(
    env: dict[str, str], folder: Path, workers: int = 1, beats: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker and beat processes for the duration of the block; yields them."""
    with ExitStack() as stack:
        processes = [
            stack.enter_context(celery_process(kind, env, folder, f"{kind}{n}"))
            for kind, count in (("worker", workers), ("beat", beats))
            for n in range(count)
        ]
        yield processes


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def ledger(app: App) -> list[Delivery]:
    with app.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.recipient)))


class Receiving(Protocol):
    """What took the messages: the SMTP recorder, or the Notify API server."""

    def count(self) -> int: ...


def settle(recorder: Receiving, expected: int, app: App, logs: Path, timeout: float = 90
           ) -> None:  # fmt: skip
    """Wait for `expected` messages and a settled ledger; then, while a beat ticks, for three
    more ticks done and every task taken since done too: a digest sent twice would have
    arrived by then. `logs`: the folder of the workers' logs."""
    wait_for(lambda: recorder.count() >= expected, timeout, f"{expected} messages")
    done = (DeliveryState.SENT, DeliveryState.FAILED)
    wait_for(lambda: all(r.state in done for r in ledger(app)), 30, "the ledger to settle")
    since = WorkerLogs.now(logs)
    wait_for(since.quiet, 30, "three more ticks, with every task taken done")


TASK = re.compile(r"Task reminders\.(\w+)\[([0-9a-f-]+)\] (received|succeeded|retry|raised)")


@dataclass(frozen=True)
class WorkerLogs:
    """What the Celery workers' logs in a folder say from where each stood when read first."""

    folder: Path
    start: dict[Path, int]  # each log's length then
    ticking: bool  # a beat had sent ticks by then

    @classmethod
    def now(cls, folder: Path) -> WorkerLogs:
        logs = list(folder.glob("worker*.log"))
        ticked = any("Task reminders.tick[" in log.read_text(errors="replace") for log in logs)
        return cls(folder, {log: log.stat().st_size for log in logs}, ticked)

    def quiet(self) -> bool:
        """No task taken since and not done; three ticks done since, if a beat ticks."""
        ticks, running = self.read()
        return running == 0 and (not self.ticking or ticks >= 3)

    def read(self) -> tuple[int, int]:
        """Ticks done since, and tasks taken since and not done."""
        ticks, running = 0, 0
        for log in self.folder.glob("worker*.log"):
            with log.open("rb") as f:
                f.seek(self.start.get(log, 0))
                last: dict[str, str] = {}
                for name, task, what in TASK.findall(f.read().decode(errors="replace")):
                    last[task] = what
                    ticks += name == "tick" and what == "succeeded"
            running += sum(what == "received" for what in last.values())
        return ticks, running
