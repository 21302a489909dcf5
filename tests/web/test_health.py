"""`/health` and `/health/ready`, as a load balancer and an uptime checker read them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command

from tests.support.web import serving
from worker.app import App
from worker.db import alembic_config
from worker.delivery import jobs

WHEN = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def ready_with(app: App, broker: str) -> App:
    app.settings = app.settings.model_copy(update={"broker_url": broker})
    return app


def test_alive_and_ready_with_the_database_and_a_real_redis(app: App, redis_url: str) -> None:
    with serving(ready_with(app, redis_url)) as client:
        alive = client.get("/health")
        ready = client.get("/health/ready")
    assert (alive.status_code, alive.json()) == (200, {"status": "pass"})
    assert alive.headers["content-type"] == "application/health+json"
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "pass"
    assert {k: v[0]["status"] for k, v in body["checks"].items()} == {
        "database": "pass", "broker": "pass", "digests": "pass"}  # fmt: skip
    assert ready.headers["cache-control"] == "no-store"


def test_a_broker_that_does_not_answer_is_not_ready(app: App) -> None:
    with serving(ready_with(app, "redis://127.0.0.1:1/0")) as client:
        alive = client.get("/health")
        ready = client.get("/health/ready")
    assert alive.status_code == 200  # the process itself is alive
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "fail"
    assert body["checks"]["broker"][0]["status"] == "fail"
    assert body["checks"]["database"][0]["status"] == "pass"
    assert "127.0.0.1" not in ready.text  # what failed, never the error's text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_older_than_this_version_is_not_ready(app: App, redis_url: str) -> None:
    command.downgrade(alembic_config(app.engine), "0024")
    with serving(ready_with(app, redis_url)) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"][0] == {"status": "fail",
                                                     "output": "NotInitialisedError"}  # fmt: skip


def test_a_failing_job_is_a_warning_not_unreadiness(app: App, redis_url: str) -> None:
    jobs.failed(app.sessions, jobs.TICK, WHEN, OSError(28, "No space left on device"))
    with serving(ready_with(app, redis_url)) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "warn"
    digests = body["checks"]["digests"][0]
    assert (digests["status"], digests["tick:failures"]) == ("warn", 1)
    assert "No space" not in ready.text
