"""B2: digests planned, then built, rendered and delivered by Celery workers to an SMTP server
that waits 50 ms per message. Floor: digests x 50 ms / sends in flight.

Each digest goes to one school with 20 items (20 MI sheets, three days overdue). The sends in
flight are the workers' threads: one worker process per core, the threads shared between them.
The same ledger rows are sent again for each concurrency tried, so every round does the same
work; the server counts what it accepts and keeps none of it. A last round sends the first
quarter again at the target's concurrency with every message DKIM-signed (RSA 2048), to show
what signing costs.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from celery import Celery
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
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
from tests.support.services import Recorder, celery_process, redis_server, smtp_server, wait_for
from worker.app import App
from worker.delivery.tick import plan_once
from worker.models import DailyRun, Delivery, DeliveryState, Obligation

DELAY = 0.05  # seconds the SMTP server waits per message
ITEMS = 20
TARGET = "≤ 1.3x at 8; throughput grows to 32; worker RSS ≤ 300 MB"
PROCESSES = max(1, min(2, os.cpu_count() or 1))  # worker processes: one per core


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
            concurrency: int, folder: Path, name: str) -> tuple[float, float]:  # fmt: skip
    """Seconds from queueing to every row sent with `concurrency` sends in flight, and the
    largest peak RSS of a worker process (MB)."""
    reset(app)
    before = recorder.count()
    logs = [folder / f"{name}-{n}.log" for n in range(PROCESSES)]
    for log in logs:  # a log left by an earlier run would say "ready." at once
        log.unlink(missing_ok=True)
    with ExitStack() as stack:
        workers = [stack.enter_context(celery_process(
            "worker", env, folder, f"{name}-{n}", concurrency=concurrency // PROCESSES))
            for n in range(PROCESSES)]  # fmt: skip
        wait_for(lambda: all(b"ready." in log.read_bytes() for log in logs), 60, "the workers")
        client = Celery("bench", broker=env["REMINDERS_BROKER_URL"])
        start = time.perf_counter()
        for delivery_id in ids:
            client.send_task("reminders.send_digest", args=[delivery_id])
        wait_for(lambda: recorder.count() - before >= len(ids), 900, f"{len(ids)} messages")
        wait_for(lambda: sent(app) == len(ids), 60, "every row marked sent")
        seconds = time.perf_counter() - start
        client.close()
        rss = max(peak_rss_mb(w.pid) for w in workers)
    return seconds, rss


def signing(folder: Path) -> dict[str, str]:
    """The settings that DKIM-sign every digest with a new 2048-bit key (`From`'s domain)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    path.chmod(0o600)
    return {"REMINDERS_DKIM__DOMAIN": "example.org", "REMINDERS_DKIM__KEY_FILE": str(path)}


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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
    with redis_server() as broker, smtp_server(keep=False) as (recorder, port):
        recorder.delay = DELAY
        env = worker_env(url, broker, port)
        rounds = [(ids, c, "") for c in scale.concurrencies[:1]]
        # A quarter at the other concurrencies, which compare throughput, and once more
        # signed, so that B1-B5 fit in ten minutes.
        quarter = ids[: max(len(ids) // 4, 1)]
        rounds += [(quarter, c, "") for c in scale.concurrencies[1:]]
        rounds += [(quarter, scale.concurrencies[0], ", DKIM-signed")]
        for sent_now, concurrency, signed in rounds:
            extra_env = signing(folder) if signed else {}
            name = f"c{concurrency}{'-dkim' if signed else ''}"
            seconds, rss = deliver(app, sent_now, env | extra_env, recorder, concurrency, folder,
                                   name)  # fmt: skip
            floor = len(sent_now) * DELAY / concurrency
            extra = {"digests": len(sent_now), "items_each": ITEMS, "plan_s": round(planned, 2),
                     "per_second": round(len(sent_now) / seconds, 1), "processes": PROCESSES,
                     "peak_rss_mb": round(rss, 1)}  # fmt: skip
            what = f"{len(sent_now):,} digests, {concurrency} sends in flight{signed}"
            figures.append(Figure("B2", what, seconds, floor, "s", TARGET, extra=extra))
    app.close()
    return figures
