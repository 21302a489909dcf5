"""Health checks, in the form load balancers and uptime checkers expect.

    GET /health         liveness: this process answers (200, nothing read)
    GET /health/ready   readiness: the database answers and its schema is this version's,
                        and the broker the worker takes its tasks from answers: 200 when all
                        pass, 503 when any fails

Both answer `application/health+json` (the IETF draft's shape: a `status` of pass, warn or
fail, and `checks`), never cached. Readiness also reports, without failing on them, when
the periodic jobs last ran and whether a day's digests did not go out (`warn`): the web
server is no less ready for it, but an uptime checker reading the body can alert. The
body is public, so it names what failed, never an error's text (which can name hosts or
paths): the log and `reminders status` give that.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from kombu.connection import Connection
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.app import App
from worker.delivery import jobs
from worker.web.context import web_of

log = logging.getLogger(__name__)
HEALTH_JSON = "application/health+json"
BROKER_TIMEOUT = 3.0
Check = dict[str, Any]


async def alive(request: Request) -> Response:
    return answer({"status": "pass"})


async def ready(request: Request) -> Response:
    app = web_of(request).app
    checks = await run_in_threadpool(readiness, app)
    failing = any(c["status"] == "fail" for c in checks.values())
    warning = any(c["status"] == "warn" for c in checks.values())
    status = "fail" if failing else "warn" if warning else "pass"
    return answer({"status": status, "checks": {k: [v] for k, v in checks.items()}},
                  503 if failing else 200)  # fmt: skip


def answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status, media_type=HEALTH_JSON,
                    headers={"cache-control": "no-store"})  # fmt: skip


def readiness(app: App) -> dict[str, Check]:
    checks = {"database": database(app), "broker": broker(app)}
    if checks["database"]["status"] == "pass":
        checks["digests"] = digests(app)
    return checks


def database(app: App) -> Check:
    try:
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        app.check_schema()
    except Exception as exc:  # whatever stops it, the answer is "not ready"
        log.warning("readiness: the database: %s", exc)
        return {"status": "fail", "output": type(exc).__name__}
    return {"status": "pass"}


def broker(app: App) -> Check:
    try:
        url = app.settings.broker_url
        reach = Connection(url, connect_timeout=BROKER_TIMEOUT)  # type: ignore[no-untyped-call]
        with reach as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    except Exception as exc:
        log.warning("readiness: the broker: %s", exc)
        return {"status": "fail", "output": type(exc).__name__}
    return {"status": "pass"}


def digests(app: App) -> Check:
    """When each job last ran, and the latest alarm: `warn` while a job is failing or a
    day's digests did not go out."""
    with app.sessions() as session:
        found = jobs.status(session)
    check: Check = {"status": "pass", "waiting": found.waiting,
                    "lastSent": stamp(found.last_sent_at)}  # fmt: skip
    for run in found.runs.values():
        check[f"{run.name}:lastSucceeded"] = stamp(run.succeeded_at)
        if run.failing:
            check["status"] = "warn"
            check[f"{run.name}:failures"] = run.failures
    if found.alarm is not None and found.alarm.sent_pinged_at is None:
        check["status"] = "warn"
        check["output"] = f"the digests for {found.alarm.period.isoformat()} did not all go out"
    return check


def stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
