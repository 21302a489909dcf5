"""The README's run command: the whole worker on the embedded default, no server installed."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.services import ROOT, free_port, wait_for
from tests.support.web import answers
from worker.app import App
from worker.cli.digests import follow_the_port
from worker.settings import load_settings

# Monday 23 November 2026, ten seconds before the 08:00 send window (GMT: London is UTC).
MOMENT = datetime(2026, 11, 23, 7, 59, 50, tzinfo=UTC)


def periods(database: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT period, count(*) FROM deliveries WHERE state = 'sent' GROUP BY period")
            )
            return {str(period): count for period, count in rows}
    except Exception:  # the worker has not created the table yet
        return {}
    finally:
        engine.dispose()


def test_start_writes_digests_and_the_worker_sends_the_next_period(tmp_path: Path) -> None:
    offset = (MOMENT - datetime.now(UTC)).total_seconds()
    database, outbox = tmp_path / "reminders.db", tmp_path / "outbox"
    port = free_port()
    env = {
        **os.environ,
        "REMINDERS_DATABASE_URL": f"sqlite:///{database}",
        "REMINDERS_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        "REMINDERS_OUTBOX_DIR": str(outbox),
        "REMINDERS_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "REMINDERS_TICK_SECONDS": "2",
        "REMINDERS_CLOCK_OFFSET": f"{'-' if offset < 0 else ''}PT{abs(offset):.0f}S",
        "REMINDERS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("REMINDERS_SMTP__HOST", None)
    command = [sys.executable, "-m", "worker.cli", "start", "--port", str(port)]
    log_path = tmp_path / "start.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            said = b"digests for 2026-11-20 written"
            wait_for(lambda: said in log_path.read_bytes(), 60, "Friday's digests (first start)")
            first = len(list(outbox.glob("*.eml")))
            web = served(port, outbox)
            monday = "2026-11-23"
            wait_for(lambda: monday in periods(database), 90, "Monday's digests from the worker")
            total = first + periods(database)[monday]
            wait_for(lambda: len(list(outbox.glob("*.eml"))) >= total, 30, "Monday's files")
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert process.returncode == 0
    assert not answers(port)  # the web server stopped with the rest
    assert web == (200, 200)
    output = log_path.read_text(errors="replace")
    assert "imported the 6 sample documents" in output
    assert first == periods(database)["2026-11-20"] > 0
    assert all(b"Auto-Submitted: auto-generated" in p.read_bytes() for p in outbox.glob("*.eml"))


def served(port: int, outbox: Path) -> tuple[int, int]:
    """The web server `start` runs: its home page, and a link from a digest it wrote."""
    wait_for(lambda: answers(port), 30, "the web server")
    message = email.message_from_bytes(
        next(outbox.glob("*.eml")).read_bytes(), policy=email.policy.default
    )
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(rf"http://127.0.0.1:{port}/links/acknowledge/\S+", body.get_content())
    assert link is not None
    home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    return home.status_code, httpx.get(link.group(0), timeout=10).status_code


def test_a_public_address_on_this_machine_follows_the_port_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scripts/run --port 8080`: the arguments reach `reminders start`, and the links and
    feeds name port 8080 where the public address was this machine's default; an address
    the operator gave elsewhere is theirs."""
    assert '.venv/bin/reminders start "$@"' in (ROOT / "scripts" / "run").read_text()
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("REMINDERS_PUBLIC_BASE_URL", "http://localhost:8000")  # put back after
    app = App(load_settings())
    assert app.settings.public_base_url == "http://localhost:8000"
    follow_the_port(app, 8080)
    assert app.settings.public_base_url == "http://localhost:8080"
    assert os.environ["REMINDERS_PUBLIC_BASE_URL"] == "http://localhost:8080"  # for the children
    assert App(load_settings()).settings.public_base_url == "http://localhost:8080"
    monkeypatch.setenv("REMINDERS_PUBLIC_BASE_URL", "https://reminders.example.org")
    theirs = App(load_settings())
    follow_the_port(theirs, 8080)
    assert theirs.settings.public_base_url == "https://reminders.example.org"
