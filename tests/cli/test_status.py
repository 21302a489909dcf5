"""`reminders status`: when each periodic job last ran, the digests waiting, the alarm."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from click.testing import CliRunner

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.delivery import jobs
from worker.delivery.tick import plan_once
from worker.models import DigestWatch

WHEN = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def test_status_says_when_each_job_ran_what_waits_and_the_alarm(app: App) -> None:
    run_import(app, seed("002"))
    waiting = len(plan_once(app, app.rules(), date(2026, 12, 8), "NSCP"))
    jobs.started(app.sessions, jobs.TICK, WHEN)
    jobs.failed(app.sessions, jobs.TICK, WHEN, OSError(28, "No space left on device"))
    jobs.succeeded(app.sessions, jobs.DAILY_RUN, WHEN)
    with transaction(app.sessions) as session:
        session.add(DigestWatch(period=date(2026, 12, 7), alarm_at=WHEN,
                                alarm="they were never planned"))  # fmt: skip
    shown = CliRunner().invoke(main, ["status"])
    assert shown.exit_code == 0, shown.output
    assert "Periodic jobs" in shown.output  # a table, folded to the terminal's width
    assert f"Digests waiting to be sent: {waiting};" in shown.output
    assert "the digests for 2026-12-07 did not all go out (they were never planned)" in shown.output
    record = json.loads(CliRunner().invoke(main, ["status", "--json"]).output)
    assert record["jobs"]["tick"]["failures"] == 1
    assert record["jobs"]["tick"]["error"] == "OSError: [Errno 28] No space left on device"
    assert record["jobs"]["daily run"]["succeeded_at"] == "2026-12-08T08:00:00+00:00"
    assert record["waiting"] == waiting > 0
    assert record["alarm"]["period"] == "2026-12-07"
    assert record["alarm"]["all_sent_since"] is False
