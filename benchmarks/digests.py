"""B2: digests planned, then built, rendered and delivered by Celery workers to an SMTP server
that waits 50 ms per message. Floor: digests x 50 ms / worker processes.

Each digest goes to one school with 20 items (20 MI sheets, three days overdue). The same
ledger rows are sent again for each worker count tried, so every round does the same work.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import date, timedelta
from pathlib import Path

from celery import Celery
from sqlalchemy import func, select, update

from benchmarks.databases import Databases, app_for, settle
from benchmarks.generate import (
    Yesterday,
    establishments,
    insert,
    next_id,
    sheet_obligations,
    synced,
    table,
)
from benchmarks.generate import sheets as make_sheets
from benchmarks.measure import Figure
from benchmarks.scales import TODAY, Scale
from tests.services import Recorder, celery_process, redis_server, smtp_server, wait_for
from worker.app import App
from worker.models import DailyRun, Delivery, DeliveryState, Obligation
from worker.scheduler import plan_once

DELAY = 0.05  # seconds the SMTP server waits per message
ITEMS = 20
TARGET = "≤ 1.5x; throughput grows with processes"


def overdue(_: int) -> date:
    return TODAY - timedelta(days=3)


def schools(app: App, count: int, items: int = ITEMS) -> None:
    """`count` schools, each owing `items` overdue MI sheets, as after yesterday's sweep."""
    then = Yesterday(app.rules())
    with app.engine.begin() as connection:
        places = establishments(connection, count)
        sheet_ids = make_sheets(connection, items, overdue)
        first = next_id(connection, table(Obligation))
        rows = sheet_obligations(sheet_ids, places, first, then, overdue)
        insert(connection, table(Obligation), rows)
        insert(connection, table(DailyRun), [then.run()])
    synced(app, then)


def sent(app: App) -> int:
    with app.sessions() as session:
        query = select(func.count()).where(Delivery.state == DeliveryState.SENT)
        return int(session.scalar(query) or 0)


def reset(app: App) -> None:
    """Every row pending again, as just planned."""
    with app.engine.begin() as connection:
        connection.execute(update(Delivery).values(
            state=DeliveryState.PENDING, attempts=0, message_id=None, lease_until=None,
            next_attempt_at=None, enqueued_at=None, sent_at=None, last_error=None))  # fmt: skip


def worker_env(url: str, broker: str, smtp_port: int) -> dict[str, str]:
    return {"REMINDERS_DATABASE_URL": url, "REMINDERS_BROKER_URL": broker,
            "REMINDERS_SMTP__HOST": "127.0.0.1", "REMINDERS_SMTP__PORT": str(smtp_port),
            "REMINDERS_SMTP__STARTTLS": "false"}  # fmt: skip


def deliver(app: App, ids: list[int], env: dict[str, str], recorder: Recorder,
            processes: int, folder: Path) -> float:  # fmt: skip
    """Seconds from queueing to every row sent, with one worker of `processes` processes."""
    reset(app)
    before = recorder.count()
    name = f"worker{processes}"
    with celery_process("worker", env, folder, name, concurrency=processes):
        log = folder / f"{name}.log"
        wait_for(lambda: b"ready." in log.read_bytes(), 60, "the worker to be ready")
        client = Celery("bench", broker=env["REMINDERS_BROKER_URL"])
        start = time.perf_counter()
        for delivery_id in ids:
            client.send_task("reminders.send_digest", args=[delivery_id])
        wait_for(lambda: recorder.count() - before >= len(ids), 600, f"{len(ids)} messages")
        wait_for(lambda: sent(app) == len(ids), 60, "every row marked sent")
        seconds = time.perf_counter() - start
        client.close()
    return seconds


def run(scale: Scale, databases: Databases, folder: Path) -> list[Figure]:
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("REMINDERS_SIGNING_KEY", secrets.token_urlsafe(32))
    url = databases.fresh("postgresql", "b2")
    app = app_for(url)
    schools(app, scale.digests)
    settle(app)
    start = time.perf_counter()
    ids = plan_once(app, app.rules(), TODAY, app.partnership_label())
    planned = time.perf_counter() - start
    figures = []
    with redis_server() as broker, smtp_server() as (recorder, port):
        recorder.delay = DELAY
        env = worker_env(url, broker, port)
        for processes in scale.concurrencies:
            seconds = deliver(app, ids, env, recorder, processes, folder)
            floor = len(ids) * DELAY / processes
            extra = {"digests": len(ids), "items_each": ITEMS, "plan_s": round(planned, 2),
                     "per_second": round(len(ids) / seconds, 1)}  # fmt: skip
            what = f"{len(ids):,} digests, {processes} worker processes"
            figures.append(Figure("B2", what, seconds, floor, "s", TARGET, extra=extra))
    app.close()
    return figures
