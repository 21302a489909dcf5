"""Faults injected into real processes: nothing lost, nothing sent twice.

Each test runs the real thing: redis-server, Celery worker (its sending threads) and beat processes,
an aiosmtpd server and the database (PostgreSQL; SQLite too where its locking is the subject). The worker's clock is set to
Tuesday 28 February 2017, 09:00, when MI sheet 3/17 is due soon for the 200 schools of a
test directory: 200 digests to send. Measured outcomes are printed as RELIABILITY lines.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, SEED_LA_CONTACTS, new_version, seed
from tests.support.helpers import run_import
from tests.support.services import (
    PostgresCluster,
    Recorder,
    SmtpServer,
    celery_process,
    free_port,
    kill_hard,
    redis_server,
    wait_for,
)
from tests.support.workers import (
    WorkerLogs,
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
from worker.config.versions import RULES, history
from worker.delivery.tick import plan_once
from worker.models import DeliveryState
from worker.settings import load_settings

SCHOOLS = 200
PERIOD = date(2017, 2, 28)  # 3/17 (due 14 March) is due soon: 10 working days before
MOMENT = datetime(2017, 2, 28, 9, 0, tzinfo=UTC)


# Faults of the broker, the relay or the rules run on PostgreSQL, the production database;
# those where the database's own locking is the subject (a worker killed, a row claimed twice,
# two beats) run on SQLite too.
BROKER_OR_RELAY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


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


def make_scene(database_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    config = schools_config(folder / "config")
    monkeypatch.setenv("REMINDERS_DATABASE_URL", database_url)
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(config))
    app = App(load_settings())
    app.initialise()
    run_import(app, seed("000"))
    return app


@dataclass
class Scene:
    """One fault scene: 200 schools owing MI sheet 3/17, a relay, a clean broker, and the
    environment the worker processes are started with. A test injects its fault, then
    `delivered_once` measures the outcome."""

    app: App
    recorder: Recorder
    smtp_port: int
    broker: str
    folder: Path
    monkeypatch: pytest.MonkeyPatch

    def env(self, broker: str | None = None, smtp_port: int | None = None,
            **extra: str) -> dict[str, str]:  # fmt: skip
        """The worker processes' environment (settings in `extra`), set for this process too."""
        env = {
            **worker_env(self.app, broker or self.broker, smtp_port or self.smtp_port, MOMENT),
            "REMINDERS_CONFIG_DIR": str(self.app.settings.config_dir),
            **{f"REMINDERS_{key.upper()}": value for key, value in extra.items()},
        }
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        return env

    def delivered_once(self, fault: str, story: str, recorder: Recorder | None = None) -> None:
        """Every school's digest sent exactly once and the ledger says so; the outcome is
        printed for the README's Reliability table (run pytest with -s)."""
        recorder = recorder or self.recorder
        wanted = {row.recipient for row in ledger(self.app)}
        assert len(wanted) == SCHOOLS
        counts = {address: len(recorder.to(address)) for address in wanted}
        assert {a: c for a, c in counts.items() if c != 1} == {}
        assert recorder.count() == SCHOOLS
        assert {row.state for row in ledger(self.app)} == {DeliveryState.SENT}
        report(fault, f"{story}: {SCHOOLS} delivered, 0 duplicates")


@pytest.fixture
def scene(
    database_url: str,
    redis_url: str,
    smtp: tuple[Recorder, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Scene]:
    recorder, port = smtp
    flush(redis_url)
    app = make_scene(database_url, tmp_path, monkeypatch)
    yield Scene(app, recorder, port, redis_url, tmp_path, monkeypatch)
    app.close()


def report(name: str, outcome: str) -> None:
    print(f"\nRELIABILITY {name}: {outcome}")


def test_kill_9_during_delivery_then_restart(scene: Scene) -> None:
    env = scene.env(lease_seconds="3", requeue_after_seconds="2")
    recorder, folder = scene.recorder, scene.folder
    assert len(expected_digests(scene.app, PERIOD)) == SCHOOLS
    # One process, and a relay a little slow to answer DATA; from the 37th on it holds DATA
    # for a minute, so the kill lands while a digest is in flight, before its 250, however
    # slow the machine (a kill after the 250 is the window of the next test but one).
    recorder.delay = 0.05
    with celery_process("beat", env, folder, "beat"):
        with celery_process("worker", env, folder, "worker-a", concurrency=1) as worker:
            wait_for(lambda: recorder.count() >= 37, 90, "37 sent")
            held_from, recorder.delay = time.monotonic(), 60.0
            wait_for(lambda: recorder.pausing_since(held_from), 30, "one held in flight")
            kill_hard(worker)
        killed_after = recorder.count()
        recorder.delay = 0.0
        with celery_process("worker", env, folder, "worker-b"):
            settle(recorder, SCHOOLS, scene.app, folder)
    assert 37 <= killed_after < SCHOOLS
    scene.delivered_once("kill -9", f"worker killed after {killed_after} of {SCHOOLS}")


@BROKER_OR_RELAY
def test_smtp_refusing_connections_for_a_while(scene: Scene) -> None:
    server = SmtpServer(Recorder(), free_port())  # not started: connections are refused
    env = scene.env(smtp_port=server.port)

    def retried() -> bool:
        rows = ledger(scene.app)
        return len(rows) == SCHOOLS and all(r.attempts >= 3 for r in rows)

    with run_workers(env, scene.folder):
        wait_for(retried, 120, "every digest tried three times")
        rows = ledger(scene.app)
        assert {r.state for r in rows} <= {DeliveryState.PENDING, DeliveryState.SENDING}
        assert any("ConnectionRefusedError" in (r.last_error or "") for r in rows)
        server.start()
        try:
            settle(server.recorder, SCHOOLS, scene.app, scene.folder, timeout=120)
        finally:
            server.stop()
    attempts = max(r.attempts for r in ledger(scene.app))
    limit = scene.app.settings.visibility_timeout_seconds
    scene.delivered_once(
        "SMTP refusing connections",
        f"up to {attempts} attempts each; retry delays capped at 900 s, under the {limit:.0f} s visibility timeout",
        server.recorder,
    )


@BROKER_OR_RELAY
def test_redis_killed_with_tasks_queued(scene: Scene) -> None:
    broker_port = free_port()
    env = scene.env(broker=f"redis://127.0.0.1:{broker_port}/0", requeue_after_seconds="3",
                    lease_seconds="3")  # fmt: skip
    recorder = scene.recorder
    recorder.delay = 0.5  # a slow relay: most tasks wait in Redis

    sends = scene.app.settings.send_concurrency  # the worker's sending threads

    def queued() -> bool:
        # Every sending thread inside the relay's 0.5 s pause: the kill cannot land between a
        # relay's 250 and its ledger commit (that window is fault 2's, not this test's).
        if recorder.busy < sends or recorder.count() < 2:
            return False
        enqueued = [r for r in ledger(scene.app) if r.enqueued_at]
        return len(enqueued) == SCHOOLS and recorder.busy >= sends and recorder.pausing_for(0.2)

    with redis_server(broker_port), run_workers(env, scene.folder) as processes:
        # Sampled: on a loaded machine the moment every thread is inside the pause is rarer.
        wait_for(queued, 300, "200 queued, every thread sending", interval=0.02)
        for process in processes:
            kill_hard(process)
    # redis-server is gone, without persistence, and the 190-odd tasks queued in it.
    before = recorder.count()
    recorder.delay = 0.0
    with redis_server(broker_port), run_workers(env, scene.folder):
        settle(recorder, SCHOOLS, scene.app, scene.folder)
    scene.delivered_once(
        "redis-server killed with tasks queued",
        f"{SCHOOLS - before} queued tasks lost with Redis; the recovery pass re-queued them from the database",
    )


@BROKER_OR_RELAY
def test_redis_down_when_the_worker_starts(scene: Scene) -> None:
    broker_port = free_port()
    env = scene.env(broker=f"redis://127.0.0.1:{broker_port}/0")
    with run_workers(env, scene.folder) as processes:
        with Unanswered(broker_port) as down:
            wait_for(lambda: down.attempts >= 2, 60, "the worker to try the broker again")
            assert all(p.poll() is None for p in processes)  # still running, no crash
        with redis_server(broker_port):
            settle(scene.recorder, SCHOOLS, scene.app, scene.folder)
    scene.delivered_once(
        "Redis down when the worker starts",
        "the worker kept retrying, never exiting, until Redis came up",
    )


class Unanswered:
    """A broker's port where nothing answers: each connection is dropped at once, counted."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(0.2)
        self.attempts, self.open = 0, True
        self.thread = threading.Thread(target=self.drop, daemon=True)

    def __enter__(self) -> Unanswered:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.open = False
        self.thread.join(5)
        self.listener.close()

    def drop(self) -> None:
        while self.open:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            connection.close()
            self.attempts += 1


def test_the_same_task_twice_and_redelivery(scene: Scene) -> None:
    env = scene.env(visibility_timeout_seconds="1", lease_seconds="60")
    scene.recorder.delay = 0.05
    app = scene.app
    plan_once(app, app.rules(), PERIOD, app.partnership_label())
    broker = Celery(broker=scene.broker)
    for row in ledger(app):
        broker.send_task("reminders.send_digest", args=[row.id])
        broker.send_task("reminders.send_digest", args=[row.id])
    with run_workers(env, scene.folder, workers=2, beats=0):
        settle(scene.recorder, SCHOOLS, app, scene.folder)
    broker.close()
    scene.delivered_once(
        "forced redelivery", "every task queued three times, visibility timeout 1 s, slow relay"
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


def test_killed_between_the_relays_250_and_the_ledger_commit(scene: Scene) -> None:
    """The one unavoidable window. Policy: at-least-once, the second copy with the same
    Message-ID (mail systems that honour it show one message)."""
    env = scene.env(lease_seconds="3", requeue_after_seconds="2")
    recorder, folder, app = scene.recorder, scene.folder, scene.app
    target = "dsl050@school.example.org"
    lock = RowLock(app, target)
    recorder.after_accept = lock.take
    with celery_process("beat", env, folder, "beat"):
        with celery_process("worker", env, folder, "worker-a", concurrency=1) as worker:
            wait_for(lambda: lock.held, 60, "the relay to accept the chosen digest")
            time.sleep(1)  # the worker now waits to write "sent"
            kill_hard(worker)
        lock.release()
        with celery_process("worker", env, folder, "worker-b"):
            settle(recorder, SCHOOLS + 1, app, folder)
    copies = recorder.to(target)
    assert len(copies) == 2
    assert len({parsed(raw)["Message-ID"] for raw in copies}) == 1
    others = {row.recipient for row in ledger(app)} - {target}
    assert {address: len(recorder.to(address)) for address in others} == dict.fromkeys(others, 1)
    assert {row.state for row in ledger(app)} == {DeliveryState.SENT}
    report(
        "killed between 250 and the ledger commit",
        "the documented policy held: that digest was sent again after its lease, with the same Message-ID; every other digest once",
    )


@pytest.fixture
def cluster_scene(
    redis_url: str, smtp: tuple[Recorder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Scene, PostgresCluster]]:
    """The scene on a PostgreSQL server of its own, which the test may stop and start."""
    cluster = PostgresCluster()
    cluster.start()
    recorder, port = smtp
    flush(redis_url)
    app = make_scene(cluster.url, tmp_path, monkeypatch)
    try:
        yield Scene(app, recorder, port, redis_url, tmp_path, monkeypatch), cluster
    finally:
        app.close()
        cluster.remove()


def test_database_down_for_a_while(cluster_scene: tuple[Scene, PostgresCluster]) -> None:
    """PostgreSQL stopped mid-run and started again: tasks retry, nothing lost or doubled.
    An outage longer than the lease is test_outage_duplicate.py's: the promise holds for
    one shorter than the outcome write's patience (the lease, at least 70 s)."""
    scene, cluster = cluster_scene
    env = scene.env(lease_seconds="15", requeue_after_seconds="2")
    recorder = scene.recorder
    recorder.delay = 0.02
    with run_workers(env, scene.folder):
        wait_for(lambda: recorder.count() >= 40, 60, "40 digests")
        cluster.stop("fast")  # every connection is cut
        down_at = recorder.count()
        time.sleep(5)
        cluster.start()
        settle(recorder, SCHOOLS, scene.app, scene.folder, timeout=120)
    scene.delivered_once("database down for 5 s mid-run", f"stopped after {down_at} of {SCHOOLS}")


def test_two_beats_and_two_workers(scene: Scene) -> None:
    with run_workers(scene.env(), scene.folder, workers=2, beats=2):
        settle(scene.recorder, SCHOOLS, scene.app, scene.folder)
    scene.delivered_once("two beats and two workers", "one plan per period, one send per row")


@BROKER_OR_RELAY
def test_broken_rules_loaded_mid_run_are_refused_and_change_nothing(scene: Scene) -> None:
    env = scene.env()
    scene.recorder.delay = 0.02
    broken = scene.folder / "broken-rules.yaml"
    broken.write_text("stages:\n  - stage: 1\n    tell: [boss]\n", encoding="utf-8")
    with run_workers(env, scene.folder) as processes:
        wait_for(lambda: scene.recorder.count() >= 20, 60, "20 digests")
        load = ["rules", "load", str(broken), "--by", "bm@example.org", "--reason", "typo"]
        refused = CliRunner().invoke(main, load)
        settle(scene.recorder, SCHOOLS, scene.app, scene.folder)
        assert all(p.poll() is None for p in processes)
    assert refused.exit_code == 1
    assert "stages[0].tell[0]: unknown role 'boss'" in refused.output
    assert "nothing saved" in refused.output
    with scene.app.sessions() as session:
        assert [v.number for v in history(session, RULES)] == [1]
    scene.delivered_once(
        "broken rules loaded mid-run", "refused with the key path, nothing saved, worker running"
    )


@BROKER_OR_RELAY
def test_a_rules_version_saved_mid_run_is_followed_at_the_next_tick(scene: Scene) -> None:
    """Rules whose send time (09:30) has not come: nothing is planned. A version sending at
    08:00, saved while worker and beat run, is followed at the next tick with no restart:
    the period is planned after it was saved, once, and every digest goes out once."""
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    later = rules.replace('send_at: "08:00"', 'send_at: "09:30"')
    assert later != rules
    new_version(scene.app, RULES, later)
    loaded = scene.folder / "new-rules.yaml"
    loaded.write_text(rules, encoding="utf-8")
    logs = WorkerLogs.now(scene.folder)
    with run_workers(scene.env(), scene.folder) as processes:
        wait_for(lambda: logs.read()[0] >= 5, 60, "five ticks under the 09:30 rules")
        assert scene.recorder.count() == 0
        assert ledger(scene.app) == []
        load = ["rules", "load", str(loaded), "--by", "bm@example.org", "--reason", "8am"]
        saved = CliRunner().invoke(main, load)
        assert saved.exit_code == 0, saved.output
        settle(scene.recorder, SCHOOLS, scene.app, scene.folder)
        assert all(p.poll() is None for p in processes)
    with scene.app.sessions() as session:
        [in_force, *_] = history(session, RULES)
    assert in_force.number == 3
    assert all(row.created_at >= in_force.created_at for row in ledger(scene.app))
    scene.delivered_once(
        "a rules version saved mid-run", "followed at the next tick, no restart, planned once"
    )


def test_a_rules_version_saved_while_digests_go_out_never_half_applies(scene: Scene) -> None:
    """The period's digests were planned under one version: a version renaming every step,
    saved while they are being sent, changes none of them (no digest is planned again, none
    is rendered half under each)."""
    scene.recorder.delay = 0.05
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    renamed = rules.replace("name: Due soon", "name: Coming up").replace(
        "name: Practitioner", "name: First reminder"
    )
    assert renamed.count("Coming up") == 1
    loaded = scene.folder / "renamed-rules.yaml"
    loaded.write_text(renamed, encoding="utf-8")
    with run_workers(scene.env(), scene.folder):
        wait_for(lambda: scene.recorder.count() >= 20, 60, "20 digests")
        load = ["rules", "load", str(loaded), "--by", "bm@example.org", "--reason", "names"]
        saved = CliRunner().invoke(main, load)
        assert saved.exit_code == 0, saved.output
        settle(scene.recorder, SCHOOLS, scene.app, scene.folder)
    bodies = [text_of(raw) for _, raw in scene.recorder.messages]
    assert all(("Due soon" in b or "Practitioner" in b) for b in bodies)
    assert [b for b in bodies if "Coming up" in b or "First reminder" in b] == []
    scene.delivered_once(
        "a rules version saved while digests go out", "every digest as planned, none re-planned"
    )


def text_of(raw: bytes) -> str:
    body = parsed(raw).get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@BROKER_OR_RELAY
def test_mixed_replies_451_retried_550_failed_once_and_reported(scene: Scene) -> None:
    env, recorder = scene.env(), scene.recorder
    later = [f"dsl{n:03}@school.example.org" for n in range(0, 40, 2)]  # 20 schools: 451, 451
    gone = [f"dsl{n:03}@school.example.org" for n in range(1, 20, 2)]  # 10 schools: 550
    recorder.replies = {a: ["451 4.3.0 Try again later"] * 2 for a in later}
    recorder.replies |= {a: ["550 5.1.1 No such user"] for a in gone}
    with run_workers(env, scene.folder):
        settle(recorder, SCHOOLS - len(gone), scene.app, scene.folder)
    rows = {row.recipient: row for row in ledger(scene.app)}
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
