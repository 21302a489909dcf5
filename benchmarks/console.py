"""B6: the console's overview and a filtered items page under wrk, against a static page of
the same size served by the same app (same server, processes and middleware; the page asks
for no sign-in, so the session check is part of what the console pages are measured for).

The partnership is B1's generator at `Scale.console` obligations, with the stage history an
item leaves as it climbs (one stage change per step) so that the overview's weekly figure has
a year of rows to read. The business manager is signed in; wrk sends their cookie. The figure
is wrk's 95th-percentile latency; requests per second are noted beside it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from benchmarks.databases import Databases, app_for, settle
from benchmarks.feeds import install, process
from benchmarks.generate import STAMP, Row, insert, partnership, table
from benchmarks.measure import Figure
from benchmarks.scales import TODAY, Scale
from benchmarks.sweep import BACKENDS
from tests.support.services import free_port
from worker.app import App
from worker.cli.web import run_server
from worker.db import transaction
from worker.models import Agency, Obligation, StageChange
from worker.settings import load_settings
from worker.signin.sessions import Client, begin
from worker.web import create_app

PROCESSES = 2
CONNECTIONS = PROCESSES
TARGET = "≤ 5x the static page's p95"
PAGES_ENV = "BENCH_STATIC_PAGES"  # the folder the static pages are served from
STATIC = "/console/static-page/{name}"
P95 = 'done = function(s, latency, r) io.write(string.format("p95_us %d\\n", ' \
      "latency:percentile(95))) end\n"  # fmt: skip
STEP_DAYS = 5  # working days between two steps up the ladder, near enough


def server() -> Starlette:
    """The app `reminders serve` runs, plus one route answering with a page held in memory."""
    web = create_app(App())
    folder = Path(os.environ[PAGES_ENV])
    pages = {path.stem: path.read_bytes() for path in folder.glob("*.html")}

    async def static_page(request: Request) -> Response:
        return HTMLResponse(pages[request.path_params["name"]])

    web.add_route(STATIC.replace("{name}", "{name:str}"), static_page, methods=["GET"])
    return web


def history(connection: Connection) -> Iterator[Row]:
    """The stage changes each open item at stage 1 or above made on its way up."""
    query = select(Obligation.id, Obligation.target_date, Obligation.stage).where(
        Obligation.stage >= 1, Obligation.resolved_on.is_(None), Obligation.target_date.is_not(None)
    )
    for id_, target, stage in connection.execute(query):
        assert target is not None
        for step in range(1, stage + 1):
            on = min(target + timedelta(days=1 + (step - 1) * STEP_DAYS), TODAY)
            yield {"obligation_id": id_, "on": on, "from_stage": step - 1, "to_stage": step,
                   "reason": "benchmark history", "recorded_at": STAMP}  # fmt: skip


def signed_in(app: App) -> str:
    """A session cookie for the business manager."""
    email = app.directory().partnership.business_manager.email
    with transaction(app.sessions) as session:
        return begin(
            session,
            email,
            datetime.now(UTC),
            Client("127.0.0.1", "wrk"),
            "GETs only",
            signed_in_with="e-mail link",
        )


def busiest_agency(app: App) -> str:
    """The agency with the most items: the filtered page with the most to read."""
    query = (
        select(Agency.name)
        .join(Obligation, Obligation.agency_id == Agency.id)
        .group_by(Agency.name)
        .order_by(func.count().desc())
        .limit(1)
    )
    with app.engine.connect() as connection:
        return str(connection.scalar(query))


def fetch(port: int, path: str, cookie: str) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Cookie", f"console={cookie}")
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        assert response.status == 200, f"{path}: {response.status}"
        body: bytes = response.read()
        return body


def wrk(port: int, path: str, cookie: str, seconds: int, script: Path) -> tuple[float, float]:
    """wrk's 95th-percentile latency (ms) and requests per second on `path`."""
    command = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout",
               "60s", "-s", str(script), "-H", f"Cookie: console={cookie}",
               f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         timeout=seconds + 120).stdout  # fmt: skip
    p95 = re.search(r"p95_us (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (p95 and rate):
        raise RuntimeError(f"wrk said nothing useful:\n{out}")
    return int(p95.group(1)) / 1000, float(rate.group(1))


def measured(url: str, pages: dict[str, str], cookie: str, seconds: int) -> list[dict[str, float]]:
    """For each page: its p95 and rate, and those of a static page of the same bytes."""
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    script = folder / "p95.lua"
    script.write_text(P95, encoding="utf-8")
    port, found = free_port(), []
    env = {"REMINDERS_DATABASE_URL": url, PAGES_ENV: str(folder)}
    with process(app_server(port), port, env):  # the pages as the app renders them
        for name, path in pages.items():
            (folder / f"{name}.html").write_bytes(fetch(port, path, cookie))
    with process(app_server(port), port, env):
        for name, path in pages.items():
            size = len(fetch(port, path, cookie))
            p95, rate = wrk(port, path, cookie, seconds, script)
            static = STATIC.format(name=name)
            floor_p95, floor_rate = wrk(port, static, cookie, seconds, script)
            found.append({"p95": p95, "rate": rate, "floor_p95": floor_p95,
                          "floor_rate": floor_rate, "bytes": size})  # fmt: skip
    return found


def app_server(port: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.console", str(port)]


def run(scale: Scale, databases: Databases) -> list[Figure]:
    install()
    figures = []
    for backend in BACKENDS:
        url = databases.fresh(backend, "b6")
        app = app_for(url)
        written = partnership(app, scale.console)
        with app.engine.begin() as connection:
            changes = insert(connection, table(StageChange), list(history(connection)))
        settle(app)
        cookie, agency = signed_in(app), busiest_agency(app)
        app.close()
        pages = {
            "overview": "/console/",
            "items": f"/console/items?agency={quote(agency)}&status=overdue",
        }
        for (name, path), found in zip(
            pages.items(), measured(url, pages, cookie, scale.load_seconds), strict=True
        ):
            extra = {
                "obligations": written,
                "stage_changes": changes,
                "bytes": found["bytes"],
                "req_per_s": found["rate"],
                "static_req_per_s": found["floor_rate"],
            }
            what = f"console {name} ({path}), {backend}"
            figures.append(Figure("B6", what, found["p95"], found["floor_p95"], "ms p95",
                                  TARGET, extra=extra))  # fmt: skip
    return figures


if __name__ == "__main__":
    # `reminders serve` on the app with the static page, with as many processes as B3 gives.
    run_server("benchmarks.console:server", "127.0.0.1", int(sys.argv[1]), PROCESSES,
               load_settings())  # fmt: skip
