"""The dead-man alarm with real processes: Celery worker and beat, Redis, an SMTP server, an
outside monitor on loopback, and a database whose fault makes every tick fail for a while.

The worker's clock reads Tuesday 8 December 2026, 08:30: half an hour after the send time,
past the alarm's grace of one minute. Monday's digests went; Tuesday's cannot be planned
while the fault lasts. The operator's mailbox and the monitor hear of it once; when the fault
is put right, the next tick plans the day and every digest goes, once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text, update

from tests.conftest import seed
from tests.support.helpers import run_import
from tests.support.monitor import Monitor, monitor
from tests.support.services import Recorder, wait_for
from tests.support.workers import expected_digests, flush, ledger, parsed, run_workers, settle
from tests.support.workers import worker_env as base_env
from worker.app import App
from worker.db import transaction
from worker.delivery import jobs
from worker.delivery.tick import plan_once
from worker.models import Delivery, DeliveryState

OPERATOR = "operator@example.org"
MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
MOMENT = datetime(2026, 12, 8, 8, 30, tzinfo=UTC)


@pytest.fixture
def watched(app: App, redis_url: str, smtp: tuple[Recorder, int], monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[dict[str, str], Monitor]]:  # fmt: skip
    flush(redis_url)
    with monitor() as found:
        env = base_env(app, redis_url, smtp[1], MOMENT) | {
            "REMINDERS_OPERATOR_EMAIL": OPERATOR,
            "REMINDERS_PING_URL": found.url,
            "REMINDERS_ALARM_GRACE_MINUTES": "1",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env, found


def rename(app: App, old: str, new: str) -> None:
    with app.engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def failures(app: App, job: str) -> int:
    with app.sessions() as session:
        run = jobs.status(session).run(job)
    return run.failures if run else 0


def test_a_day_whose_ticks_fail_is_told_then_caught_up(
    app: App, watched: tuple[dict[str, str], Monitor], smtp: tuple[Recorder, int],
    tmp_path: Path,
) -> None:  # fmt: skip
    env, pinged = watched
    recorder = smtp[0]
    run_import(app, seed("002"))
    plan_once(app, app.rules(), MONDAY, "NSCP")  # Monday's went
    with transaction(app.sessions) as session:
        session.execute(update(Delivery).values(state=DeliveryState.SENT, sent_at=MOMENT))
    wanted = expected_digests(app, TUESDAY)
    assert len(wanted) >= 5
    app.engine.dispose()
    rename(app, "obligations", "obligations_away")  # every daily run fails from now
    with run_workers(env, tmp_path):
        wait_for(lambda: bool(recorder.to(OPERATOR)), 60, "the operator to be told")
        wait_for(lambda: "fail" in pinged.after(), 10, "the monitor to be told")
        # The tick's own failure is recorded when it ends, after the alarm it raised.
        wait_for(lambda: failures(app, jobs.TICK) >= 1, 30, "the failing tick's record")
        assert failures(app, jobs.DAILY_RUN) >= 1
        with app.sessions() as session:
            assert "obligations" in (jobs.status(session).runs[jobs.DAILY_RUN].error or "")
        rename(app, "obligations_away", "obligations")  # the fault put right
        settle(recorder, len(wanted) + 1, app, tmp_path)
        wait_for(lambda: "success" in pinged.after(), 10, "the monitor to hear all went")
    [told] = recorder.to(OPERATOR)
    assert parsed(told)["Subject"] == (
        "Reminders: the digests for Tuesday 8 December 2026 did not all go out")  # fmt: skip
    for address in wanted:  # each person's digest, once
        assert len(recorder.to(address)) == 1, address
    assert {r.state for r in ledger(app) if r.period == TUESDAY} == {DeliveryState.SENT}
    assert pinged.after() == ["start", "fail", "success"]
    with app.sessions() as session:
        well = jobs.status(session).runs
    assert (well[jobs.TICK].failures, well[jobs.DAILY_RUN].failures) == (0, 0)
