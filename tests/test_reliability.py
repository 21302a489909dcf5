"""Faults injected into real processes: nothing lost, nothing sent twice.

Each test runs the real thing: redis-server, Celery worker (prefork) and beat processes,
an aiosmtpd server and the database (SQLite and PostgreSQL). The worker's clock is set to
Tuesday 28 February 2017, 09:00, when MI sheet 3/17 is due soon for the 200 schools of a
test directory: 200 digests to send. Measured outcomes are printed as RELIABILITY lines.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, SEED_LA_CONTACTS, seed
from tests.helpers import run_import
from tests.services import (
    PostgresCluster,
    Recorder,
    SmtpServer,
    celery_process,
    free_port,
    kill_hard,
    redis_server,
    wait_for,
)
from tests.workers import (
    expected_digests,
    flush,
    ledger,
    parsed,
    run_workers,
    settle,
    worker_env,
)
from worker.app import App
from worker.cli import main
from worker.models import DeliveryState
from worker.scheduler import plan_once
from worker.settings import load_settings

SCHOOLS = 200
PERIOD = date(2017, 2, 28)  # 3/17 (due 14 March) is due soon: 10 working days before
MOMENT = datetime(2017, 2, 28, 9, 0, tzinfo=UTC)


def schools_config(folder: Path, count: int = SCHOOLS) -> Path:
    """A copy of config/ whose directory lists `count` schools."""
    shutil.copytree(ROOT / "config", folder)
    path = folder / "directory.yaml"
    directory = yaml.safe_load(path.read_text(encoding="utf-8"))
    directory["establishments"] = [
        {"name": f"School {n:03}", "email": f"dsl{n:03}@school.example.org", "groups": ["schools"]}
        for n in range(count)
    ]
    directory["la_contacts"] += [
        {"name": name, "email": email} for name, email in SEED_LA_CONTACTS.items()
    ]
    path.write_text(yaml.safe_dump(directory), encoding="utf-8")
    return folder


@pytest.fixture
def scene(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A fresh database with 200 schools owing MI sheet 3/17."""
    app = make_scene(database_url, tmp_path, monkeypatch)
    yield app
    app.engine.dispose()


def make_scene(database_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    config = schools_config(folder / "config")
    monkeypatch.setenv("REMINDERS_DATABASE_URL", database_url)
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(config))
    app = App(load_settings())
    app.initialise()
    run_import(app, seed("000"))
    return app


def environment(
    app: App, broker: str, smtp_port: int, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> dict[str, str]:
    """The worker processes' environment, set for this process too."""
    env = {
        **worker_env(app, broker, smtp_port, MOMENT),
        "REMINDERS_CONFIG_DIR": str(app.settings.config_dir),
        **{f"REMINDERS_{key.upper()}": value for key, value in extra.items()},
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def assert_exactly_once(app: App, recorder: Recorder) -> None:
    wanted = {row.recipient for row in ledger(app)}
    assert len(wanted) == SCHOOLS
    counts = {address: len(recorder.to(address)) for address in wanted}
    assert {a: c for a, c in counts.items() if c != 1} == {}
    assert recorder.count() == SCHOOLS
    assert {row.state for row in ledger(app)} == {DeliveryState.SENT}


def report(name: str, outcome: str) -> None:
    """A measured outcome, for the README's Reliability table (run pytest with -s)."""
    print(f"\nRELIABILITY {name}: {outcome}")


def test_kill_9_during_delivery_then_restart(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch, lease_seconds="3",
                      requeue_after_seconds="2")  # fmt: skip
    assert len(expected_digests(scene, PERIOD)) == SCHOOLS
    # One process, and a relay slow to answer DATA: the kill lands while a digest is in
    # flight, before its 250 (a kill after the 250 is the window of the next test but one).
    recorder.delay = 0.3
    with celery_process("beat", env, tmp_path, "beat"):
        with celery_process("worker", env, tmp_path, "worker-a", concurrency=1) as worker:
            wait_for(
                lambda: recorder.count() >= 37 and recorder.busy > 0, 90, "37 sent, 1 in flight"
            )
            kill_hard(worker)
        killed_after = recorder.count()
        recorder.delay = 0.0
        with celery_process("worker", env, tmp_path, "worker-b"):
            settle(recorder, SCHOOLS, scene)
    assert 37 <= killed_after < SCHOOLS
    assert_exactly_once(scene, recorder)
    report(
        "kill -9",
        f"worker killed after {killed_after} of {SCHOOLS}: {SCHOOLS} delivered, 0 duplicates",
    )


def test_smtp_refusing_connections_for_a_while(
    scene: App, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flush(redis_url)
    server = SmtpServer(Recorder(), free_port())  # not started: connections are refused
    env = environment(scene, redis_url, server.port, monkeypatch)

    def retried() -> bool:
        rows = ledger(scene)
        return len(rows) == SCHOOLS and all(r.attempts >= 3 for r in rows)

    with run_workers(env, tmp_path):
        wait_for(retried, 120, "every digest tried three times")
        rows = ledger(scene)
        assert {r.state for r in rows} <= {DeliveryState.PENDING, DeliveryState.SENDING}
        assert any("onnection refused" in (r.last_error or "") for r in rows)
        server.start()
        try:
            settle(server.recorder, SCHOOLS, scene, timeout=120)
        finally:
            server.stop()
    assert_exactly_once(scene, server.recorder)
    attempts = max(r.attempts for r in ledger(scene))
    limit = scene.settings.visibility_timeout_seconds
    report(
        "SMTP refusing connections",
        f"{SCHOOLS} delivered once each after up to {attempts} attempts; retry delays capped at 900 s, under the {limit:.0f} s visibility timeout",
    )


def test_redis_killed_with_tasks_queued(
    scene: App, smtp: tuple[Recorder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, port = smtp
    broker_port = free_port()
    env = environment(scene, f"redis://127.0.0.1:{broker_port}/0", port, monkeypatch,
                      requeue_after_seconds="3", lease_seconds="3")  # fmt: skip
    recorder.delay = 0.5  # a slow relay: most tasks wait in Redis

    def queued() -> bool:
        # Both pool processes inside the relay's 0.5 s pause: the kill cannot land between a
        # relay's 250 and its ledger commit (that window is fault 2's, not this test's).
        if recorder.busy < 2 or recorder.count() < 2:
            return False
        return len([r for r in ledger(scene) if r.enqueued_at]) == SCHOOLS and recorder.busy >= 2

    with redis_server(broker_port), run_workers(env, tmp_path) as processes:
        wait_for(queued, 60, "200 queued, 2 sent")
        for process in processes:
            kill_hard(process)
    # redis-server is gone, without persistence, and the 190-odd tasks queued in it.
    before = recorder.count()
    recorder.delay = 0.0
    with redis_server(broker_port), run_workers(env, tmp_path):
        settle(recorder, SCHOOLS, scene)
    assert_exactly_once(scene, recorder)
    report(
        "redis-server killed with tasks queued",
        f"{SCHOOLS - before} queued tasks lost with Redis; the recovery pass re-queued them from the database: {SCHOOLS} delivered, 0 duplicates",
    )


def test_redis_down_when_the_worker_starts(
    scene: App, smtp: tuple[Recorder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, port = smtp
    broker_port = free_port()
    env = environment(scene, f"redis://127.0.0.1:{broker_port}/0", port, monkeypatch)
    log = tmp_path / "worker0.log"
    with run_workers(env, tmp_path) as processes:
        wait_for(lambda: log.exists() and b"Cannot connect" in log.read_bytes(), 30, "a refusal")
        assert all(p.poll() is None for p in processes)  # still running, no crash
        with redis_server(broker_port):
            settle(recorder, SCHOOLS, scene)
    assert_exactly_once(scene, recorder)
    report(
        "Redis down when the worker starts",
        f"worker kept retrying without exiting, then {SCHOOLS} delivered, 0 duplicates",
    )


def test_the_same_task_twice_and_redelivery(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch, visibility_timeout_seconds="1",
                      lease_seconds="60")  # fmt: skip
    recorder.delay = 0.05
    plan_once(scene, scene.rules(), PERIOD, scene.partnership_label())
    broker = Celery(broker=redis_url)
    for row in ledger(scene):
        broker.send_task("reminders.send_digest", args=[row.id])
        broker.send_task("reminders.send_digest", args=[row.id])
    with run_workers(env, tmp_path, workers=2, beats=0):
        settle(recorder, SCHOOLS, scene)
    broker.close()
    assert_exactly_once(scene, recorder)
    report(
        "forced redelivery",
        f"every task queued three times, visibility timeout 1 s, slow relay: {SCHOOLS} delivered, 0 duplicates",
    )


class RowLock:
    """Holds the database lock a worker needs to record a digest as sent."""

    def __init__(self, app: App, recipient: str) -> None:
        self.app, self.recipient, self.held = app, recipient, False
        self.release: Callable[[], None] = lambda: None

    def take(self, recipients: list[str]) -> None:
        """Called by the SMTP server after accepting a message, before it answers 250."""
        if self.recipient not in recipients or self.held:
            return
        url = make_url(self.app.settings.database_url)
        if url.get_backend_name() == "sqlite":
            connection = sqlite3.connect(
                str(url.database), isolation_level=None, check_same_thread=False
            )
            connection.execute("BEGIN IMMEDIATE")  # the whole file: the worker's write waits
            self.release = connection.close
        else:
            engine = create_engine(url)
            held = engine.connect()
            held.begin()
            held.execute(text("SELECT id FROM deliveries WHERE recipient = :r FOR UPDATE"),
                         {"r": self.recipient})  # fmt: skip

            def release() -> None:
                held.close()
                engine.dispose()

            self.release = release
        self.held = True


def test_killed_between_the_relays_250_and_the_ledger_commit(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one unavoidable window. Policy: at-least-once, the second copy with the same
    Message-ID (mail systems that honour it show one message)."""
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch, lease_seconds="3",
                      requeue_after_seconds="2")  # fmt: skip
    target = "dsl050@school.example.org"
    lock = RowLock(scene, target)
    recorder.after_accept = lock.take
    with celery_process("beat", env, tmp_path, "beat"):
        with celery_process("worker", env, tmp_path, "worker-a", concurrency=1) as worker:
            wait_for(lambda: lock.held, 60, "the relay to accept the chosen digest")
            time.sleep(1)  # the worker now waits to write "sent"
            kill_hard(worker)
        lock.release()
        with celery_process("worker", env, tmp_path, "worker-b"):
            settle(recorder, SCHOOLS + 1, scene)
    copies = recorder.to(target)
    assert len(copies) == 2
    assert len({parsed(raw)["Message-ID"] for raw in copies}) == 1
    others = {row.recipient for row in ledger(scene)} - {target}
    assert {address: len(recorder.to(address)) for address in others} == dict.fromkeys(others, 1)
    assert {row.state for row in ledger(scene)} == {DeliveryState.SENT}
    report(
        "killed between 250 and the ledger commit",
        "the documented policy held: that digest was sent again after its lease, with the same Message-ID; every other digest once",
    )


def test_database_down_for_a_while(
    redis_url: str, smtp: tuple[Recorder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL stopped mid-run and started again: tasks retry, nothing lost or doubled."""
    cluster = PostgresCluster()
    cluster.start()
    app = make_scene(cluster.url, tmp_path, monkeypatch)
    try:
        recorder, port = smtp
        flush(redis_url)
        env = environment(app, redis_url, port, monkeypatch, lease_seconds="3",
                          requeue_after_seconds="2")  # fmt: skip
        recorder.delay = 0.02
        with run_workers(env, tmp_path):
            wait_for(lambda: recorder.count() >= 40, 60, "40 digests")
            cluster.stop("fast")  # every connection is cut
            down_at = recorder.count()
            time.sleep(5)
            cluster.start()
            settle(recorder, SCHOOLS, app, timeout=120)
        assert_exactly_once(app, recorder)
    finally:
        app.engine.dispose()
        cluster.remove()
    report(
        "database down for 5 s mid-run",
        f"stopped after {down_at} of {SCHOOLS}: {SCHOOLS} delivered, 0 duplicates",
    )


def test_two_beats_and_two_workers(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch)
    with run_workers(env, tmp_path, workers=2, beats=2):
        settle(recorder, SCHOOLS, scene)
    assert_exactly_once(scene, recorder)
    report(
        "two beats and two workers",
        f"{SCHOOLS} delivered, 0 duplicates: one plan per period, one send per row",
    )


def test_a_broken_rules_file_mid_run_neither_stops_nor_changes_anything(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch)
    recorder.delay = 0.02
    rules = scene.settings.config_dir / "escalation.yaml"
    with run_workers(env, tmp_path) as processes:
        wait_for(lambda: recorder.count() >= 20, 60, "20 digests")
        rules.write_text("stages:\n  - stage: 1\n    tell: [boss]\n", encoding="utf-8")
        log = tmp_path / "worker0.log"
        wait_for(lambda: b"configuration refused" in log.read_bytes(), 30, "the refusal logged")
        settle(recorder, SCHOOLS, scene)
        assert all(p.poll() is None for p in processes)
    assert_exactly_once(scene, recorder)
    assert b"stages[0].tell[0]: unknown role 'boss'" in (tmp_path / "worker0.log").read_bytes()
    report(
        "escalation.yaml broken mid-run",
        f"refusal logged, last good rules kept, worker still running: {SCHOOLS} delivered, 0 duplicates",
    )


def test_mixed_replies_451_retried_550_failed_once_and_reported(
    scene: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, port = smtp
    flush(redis_url)
    env = environment(scene, redis_url, port, monkeypatch)
    later = [f"dsl{n:03}@school.example.org" for n in range(0, 40, 2)]  # 20 schools: 451, 451
    gone = [f"dsl{n:03}@school.example.org" for n in range(1, 20, 2)]  # 10 schools: 550
    recorder.replies = {a: ["451 4.3.0 Try again later"] * 2 for a in later}
    recorder.replies |= {a: ["550 5.1.1 No such user"] for a in gone}
    with run_workers(env, tmp_path):
        settle(recorder, SCHOOLS - len(gone), scene)
    rows = {row.recipient: row for row in ledger(scene)}
    assert {(rows[a].state, rows[a].attempts) for a in later} == {(DeliveryState.SENT, 3)}
    assert {(rows[a].state, rows[a].attempts) for a in gone} == {(DeliveryState.FAILED, 1)}
    refused = [address for address, reply in recorder.refusals if reply.startswith("550")]
    assert sorted(refused) == sorted(gone)  # each refused once: never retried
    assert recorder.count() == SCHOOLS - len(gone)
    assert all(len(recorder.to(a)) == 1 for a in rows if a not in gone)
    result = CliRunner().invoke(main, ["send", "--on", "2017-03-01"])
    assert result.exit_code == 0, result.output
    [manager] = recorder.to("business.manager@example.org")
    text = parsed(manager).get_body(("plain",))
    assert text is not None
    assert all(address in text.get_content() for address in gone)
    report(
        "mixed 451 and 550 replies",
        f"{len(later)} recipients answered 451 twice: delivered on attempt 3; {len(gone)} answered 550: failed once, never retried, listed in the business manager's next digest",
    )
