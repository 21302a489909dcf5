"""Nothing stops silently: the dead-man alarm, the record of each periodic job, a tick that
survives any one failing step, and a beat whose scheduler survives its own failures."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.conftest import seed
from tests.support.helpers import run_import
from tests.support.monitor import Monitor, monitor
from worker.app import App
from worker.db import transaction
from worker.delivery import alarm, jobs, tick
from worker.delivery.tick import plan_once, run_tick
from worker.models import Delivery, DeliveryState, JobRun

OPERATOR = "operator@example.org"
MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)  # GMT: local time is UTC


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def watched(app: App, tmp_path: Path) -> Iterator[tuple[App, Monitor]]:
    """The app with an operator, a monitor's ping address, a grace of 30 minutes and its
    mail in an outbox of this test's own; the seed plan imported."""
    with monitor() as found:
        app.settings = app.settings.model_copy(update={
            "operator_email": OPERATOR, "ping_url": SecretStr(found.url),
            "alarm_grace_minutes": 30, "outbox_dir": tmp_path / "outbox"})  # fmt: skip
        run_import(app, seed("002"))
        yield app, found


def mails(app: App) -> list[email.message.EmailMessage]:
    folder = app.settings.outbox_dir
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found.append(message)
    return found


def planned_and_sent(app: App, day: date) -> None:
    plan_once(app, app.rules(), day, "NSCP")
    with transaction(app.sessions) as session:
        session.execute(update(Delivery).where(Delivery.period == day)
                        .values(state=DeliveryState.SENT, sent_at=at(day, 8, 1)))  # fmt: skip


def test_a_day_never_planned_tells_the_operator_and_the_monitor_once(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    planned_and_sent(app, MONDAY)
    assert alarm.watch(app, at(TUESDAY, 8, 29)) == []  # within the grace: Monday is checked
    assert pinged.after() == ["success"]  # Monday's all went
    [raised] = alarm.watch(app, at(TUESDAY, 8, 31))
    assert "never planned" in raised
    [told] = mails(app)
    assert told["To"] == OPERATOR
    assert (
        told["Subject"] == "Reminders: the digests for Tuesday 8 December 2026 did not all go out"
    )
    body = told.get_body(("plain",))
    assert body is not None
    assert "reminders status" in body.get_content()
    assert pinged.after() == ["success", "fail"]
    assert alarm.watch(app, at(TUESDAY, 9, 45)) == []  # once
    assert len(mails(app)) == 1
    assert pinged.after() == ["success", "fail"]


def test_ticks_that_overlap_tell_the_operator_and_the_monitor_once(
    watched: tuple[App, Monitor], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Two ticks judge the same day at once, each having read it before either acts (found
    when a worker's ticks overlapped on a loaded machine and the operator was told twice)."""
    app, pinged = watched
    planned_and_sent(app, MONDAY)
    both_read = threading.Barrier(2, timeout=30)
    reading = alarm.read

    def read_together(session: Session, day: date) -> alarm.Period:
        period = reading(session, day)
        both_read.wait()
        return period

    monkeypatch.setattr(alarm, "read", read_together)
    with ThreadPoolExecutor(2) as pool:
        raised = list(pool.map(lambda _: alarm.watch_day(app, TUESDAY, at(TUESDAY, 9)), "ab"))
    [alarmed] = [r for r in raised if r]  # one tick raised it
    assert "never planned" in alarmed
    assert len(mails(app)) == 1
    assert pinged.after() == ["fail"]


def test_digests_still_waiting_raise_the_alarm_and_their_going_is_told_the_monitor(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    planned_and_sent(app, MONDAY)
    plan_once(app, app.rules(), TUESDAY, "NSCP")  # planned, none sent
    with app.sessions() as session:
        waiting = len(session.scalars(select(Delivery).where(Delivery.period == TUESDAY)).all())
    assert waiting > 0
    raised = alarm.watch(app, at(TUESDAY, 9, 0))
    assert raised == [f"{waiting} of {waiting} are still waiting to be sent"]
    assert [m["To"] for m in mails(app)] == [OPERATOR]
    body = mails(app)[0].get_body(("plain",))
    assert body is not None
    assert f"pending: {waiting}" in body.get_content()
    planned_and_sent(app, TUESDAY)  # the relay is back: all went
    assert alarm.watch(app, at(TUESDAY, 9, 30)) == []
    assert alarm.watch(app, at(TUESDAY, 9, 31)) == []
    assert pinged.after() == ["fail", "success"]


def test_a_day_whose_digests_all_went_is_told_the_monitor_at_once_within_the_grace(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    planned_and_sent(app, TUESDAY)
    assert alarm.watch(app, at(TUESDAY, 8, 2)) == []  # the grace runs to 08:30
    assert pinged.after() == ["success"]
    assert alarm.watch(app, at(TUESDAY, 8, 40)) == []  # judged once
    assert pinged.after() == ["success"]


def test_a_new_installation_is_not_alarmed_about_days_before_its_first(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    assert alarm.watch(app, at(TUESDAY, 12, 0)) == []
    assert mails(app) == []
    assert pinged.after() == []


def test_a_machine_down_a_whole_day_hears_of_that_day_the_next_however_late(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    planned_and_sent(app, MONDAY)
    assert alarm.watch(app, at(MONDAY, 9, 0)) == []  # Monday judged: all went
    wednesday = date(2026, 12, 9)
    planned_and_sent(app, wednesday)  # back on Wednesday at noon, Tuesday never planned
    raised = alarm.watch(app, at(wednesday, 12, 0))
    assert len(raised) == 1
    assert "never planned" in raised[0]
    [told] = mails(app)
    assert "Tuesday 8 December 2026" in told["Subject"]
    assert pinged.after() == ["success", "fail", "success"]


def test_the_tick_pings_the_start_of_the_planning_once_and_records_the_daily_run(
    watched: tuple[App, Monitor],
) -> None:
    app, pinged = watched
    queued: list[int] = []
    ids = run_tick(app, at(TUESDAY, 8, 5), queued.append)
    assert ids
    assert ids == queued
    run_tick(app, at(TUESDAY, 8, 6), queued.append)
    assert pinged.after() == ["start"]
    with app.sessions() as session:
        daily = session.get(JobRun, jobs.DAILY_RUN)
        assert daily is not None
        assert (daily.failures, daily.succeeded_at is not None) == (0, True)


def test_a_failing_plan_does_not_keep_back_what_was_planned_nor_the_alarm(
    watched: tuple[App, Monitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, pinged = watched
    planned_and_sent(app, MONDAY)
    plan_once(app, app.rules(), TUESDAY, "NSCP")  # planned before the fault, not yet sent

    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tick, "daily_run", broken)
    queued: list[int] = []
    with pytest.raises(OSError, match="No space left"):
        run_tick(app, at(TUESDAY, 9, 0), queued.append)
    assert queued  # the digests already planned were still queued
    assert pinged.after() == ["fail"]  # and the alarm was still raised


def test_a_job_that_raises_is_recorded_and_the_next_good_run_clears_it(app: App) -> None:
    clock = iter([at(TUESDAY, 8, 0), at(TUESDAY, 8, 0), at(TUESDAY, 8, 1), at(TUESDAY, 8, 1)])
    with pytest.raises(RuntimeError), jobs.recorded(app.sessions, jobs.TICK, lambda: next(clock)):
        raise RuntimeError("database or disk is full")
    with app.sessions() as session:
        failed = jobs.status(session).runs[jobs.TICK]
    assert (failed.failures, failed.error) == (1, "RuntimeError: database or disk is full")
    assert failed.succeeded_at is None
    with jobs.recorded(app.sessions, jobs.TICK, lambda: next(clock)):
        pass
    with app.sessions() as session:
        good = jobs.status(session).runs[jobs.TICK]
    assert (good.failures, good.succeeded_at, good.failed_at) == (
        0, at(TUESDAY, 8, 1), at(TUESDAY, 8, 0))  # fmt: skip


def test_a_record_that_cannot_be_written_never_stops_the_job(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.engine.dispose()
    with app.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE job_runs")
    ran = []
    with jobs.recorded(app.sessions, jobs.BACKUP, lambda: at(TUESDAY, 8, 0)):
        ran.append(True)
    assert ran == [True]
    assert "the run of backup could not be recorded" in caplog.text


def test_the_beat_survives_a_failure_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery.beat import PersistentScheduler

    from worker.celery_app import RETRY_SECONDS, Scheduler, celery

    schedule = Scheduler(app=celery, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    faults = [OSError(28, "No space left on device")]

    def tick(self: PersistentScheduler, *args: object, **kwargs: object) -> float:
        if faults:
            raise faults.pop()
        return 1.0

    def sync(self: PersistentScheduler) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PersistentScheduler, "tick", tick)
    monkeypatch.setattr(PersistentScheduler, "sync", sync)
    assert schedule.tick() == RETRY_SECONDS  # the failure logged, tried again shortly
    assert schedule.tick() == 1.0  # and the next tick is a good one
    schedule.sync()  # a schedule file on a full disk: logged, not raised
