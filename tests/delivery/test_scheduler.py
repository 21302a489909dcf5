"""The tick with its clock injected: one plan per local working morning, across the clock
changes and across downtime; the business manager's files kept at their last good version."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.conftest import ROOT, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.in_force import Config, Files
from worker.delivery.tick import run_tick
from worker.models import Delivery, DeliveryState, PlanRun
from worker.settings import load_settings

STEP = timedelta(minutes=15)


def tick_through(app: App, start: datetime, end: datetime) -> dict[date, datetime]:
    """Tick every 15 minutes from start to end; when each period was first planned."""
    queued = list[int]()
    planned: dict[date, datetime] = {}
    now = start
    while now <= end:
        # Every 15 minutes around the send time, hourly otherwise: fast, and still exact.
        if 5 <= now.hour <= 9 or now.minute == 0:
            run_tick(app, now, queued.append)
            with app.sessions() as session:
                for period in session.scalars(select(PlanRun.period)):
                    planned.setdefault(period, now)
        now += STEP
    return planned


@pytest.mark.parametrize(
    ("start", "end", "mornings"),
    [
        # Clocks go forward on Sunday 26 March 2017: 08:00 BST is 07:00 UTC from Monday.
        (
            "2017-03-24T00:00",
            "2017-03-28T12:00",
            {"2017-03-24": "08:00", "2017-03-27": "07:00", "2017-03-28": "07:00"},
        ),
        # Clocks go back on Sunday 29 October 2017: 08:00 GMT is 08:00 UTC from Monday.
        (
            "2017-10-27T00:00",
            "2017-10-31T12:00",
            {"2017-10-27": "07:00", "2017-10-30": "08:00", "2017-10-31": "08:00"},
        ),
    ],
)
def test_one_plan_per_local_morning_across_the_clock_changes(
    app: App, start: str, end: str, mornings: dict[str, str]
) -> None:
    run_import(app, seed("000"), seed("002"))
    planned = tick_through(app, utc(start), utc(end))
    assert {d.isoformat(): t.strftime("%H:%M") for d, t in planned.items()} == mornings
    with app.sessions() as session:
        doubles = session.execute(
            select(Delivery.recipient, Delivery.period)
            .group_by(Delivery.recipient, Delivery.period)
            .having(func.count() > 1)
        ).all()
    assert doubles == []


def test_three_days_down_over_a_weekend_and_bank_holiday(app: App) -> None:
    """Down from Thursday evening before Easter 2017 to Tuesday: one catch-up, Tuesday."""
    run_import(app, seed("000"), seed("002"))
    before = tick_through(app, utc("2017-04-13T06:00"), utc("2017-04-13T12:00"))
    after = tick_through(app, utc("2017-04-18T06:00"), utc("2017-04-18T12:00"))
    assert set(before) == {date(2017, 4, 13)}
    assert set(after) == {date(2017, 4, 13), date(2017, 4, 18)}  # nothing for Fri-Mon
    with app.sessions() as session:
        per_person = session.execute(
            select(Delivery.recipient, func.count())
            .where(Delivery.period == date(2017, 4, 18))
            .group_by(Delivery.recipient)
        ).all()
    assert per_person
    assert {count for _, count in per_person} == {1}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_broken_rules_or_directory_file_keeps_the_last_good_one(tmp_path: Path) -> None:
    """Read from files (a part with no version yet), a broken edit is reported once and the
    last good version stays in force."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    config = Config(Files(folder))
    good_rules, good_directory = config.rules(), config.directory()
    (folder / "escalation.yaml").write_text("stages: [\n", encoding="utf-8")
    (folder / "directory.yaml").write_text("agencies: 7\n", encoding="utf-8")
    problems = config.refresh()
    assert [p.path.name for p in problems] == ["directory.yaml", "escalation.yaml"]
    assert (config.rules(), config.directory()) == (good_rules, good_directory)
    assert config.refresh() == []  # reported once, not at every tick


def test_broken_files_beside_the_versions_in_force_change_nothing(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    live = App(load_settings())
    try:
        good_rules, good_directory = live.rules(), live.directory()
        (folder / "escalation.yaml").write_text("stages: [\n", encoding="utf-8")
        (folder / "directory.yaml").write_text("agencies: 7\n", encoding="utf-8")
        assert live.config.refresh() == []
        assert (live.rules(), live.directory()) == (good_rules, good_directory)
        run_tick(live, utc("2017-02-16T09:00"), lambda _: None)  # still plans, no error
        with live.sessions() as session:
            assert session.scalar(select(func.count()).select_from(PlanRun)) == 1
    finally:
        live.close()


def test_embedded_outbox_unwritable_is_a_clear_error_and_nothing_is_sent(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the outbox folder should be", encoding="utf-8")
    monkeypatch.setenv("REMINDERS_OUTBOX_DIR", str(blocked))
    run_import(app, seed("002"))
    result = CliRunner().invoke(main, ["send", "--on", "2017-02-16"])
    assert result.exit_code == 0, result.output
    assert "retry" in result.output
    with app.sessions() as session:
        rows = list(session.scalars(select(Delivery)))
    assert rows
    assert {r.state for r in rows} == {DeliveryState.PENDING}
    assert all(r.sent_at is None for r in rows)
    assert all(f"cannot write to the outbox {blocked}" in (r.last_error or "") for r in rows)
