"""Send periods and cadence: local working mornings, weekly and daily digests, catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.delivery.planning import plan, send_period, week_start
from worker.models import Delivery, PlanRun
from worker.rules.ladder import load_rules

RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "escalation.yaml")
CAL = RULES.calendar()
LONDON = ZoneInfo("Europe/London")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "period"),
    [
        ("2017-02-16T07:59:00", None),  # 07:59 GMT: before the window
        ("2017-02-16T08:00:00", date(2017, 2, 16)),
        ("2017-02-18T10:00:00", None),  # Saturday
        ("2017-04-17T10:00:00", None),  # Easter Monday
        ("2017-03-27T06:59:00", None),  # 07:59 BST on the Monday after the clocks go forward
        ("2017-03-27T07:00:00", date(2017, 3, 27)),  # 08:00 BST
        ("2017-10-30T07:59:00", None),  # 07:59 GMT after the clocks go back
        ("2017-10-30T08:00:00", date(2017, 10, 30)),
    ],
)
def test_send_period_is_a_local_working_morning(utc: str, period: date | None) -> None:
    assert send_period(at(utc), RULES, LONDON) == period


def test_week_start_skips_a_bank_holiday_monday() -> None:
    assert week_start(date(2017, 4, 20), CAL) == date(2017, 4, 18)  # after Easter Monday
    assert week_start(date(2017, 2, 16), CAL) == date(2017, 2, 13)


def plan_day(app: App, day: date) -> dict[str, int]:
    with transaction(app.sessions) as session:
        plan(session, app.rules(), app.timezone, day, "NSCP")
    return sent_per_recipient(app, day)


def sent_per_recipient(app: App, day: date) -> dict[str, int]:
    with app.sessions() as session:
        rows = session.execute(
            select(Delivery.recipient, func.count())
            .where(Delivery.period == day)
            .group_by(Delivery.recipient)
        )
        return dict(rows.all())


def test_cadence_daily_for_serious_items_weekly_for_the_rest(app: App) -> None:
    run_import(app, seed("002"))
    days = [date(2017, 1, 30) + timedelta(days=n) for n in range(12)]
    planned = {d: plan_day(app, d) for d in days if CAL.is_working_day(d)}
    chair = "independent.chair@example.org"  # told only from stage 4: 1.2 from 24 January
    assert all(planned[d].get(chair) == 1 for d in planned)
    # Health's contact has only 2.2 (target 1 May): nothing to hear about yet.
    assert not any("designated.nurse@example.org" in p for p in planned.values())
    # Education's 3.1 (target 1 February): its second due-soon reminder on Monday 30 January,
    # stage 1 on 2 February, the weekly digest on Monday 6 February, then stage 2 on
    # 9 February and a digest every working day from then on.
    education = [d for d, p in planned.items() if "education.adviser@example.org" in p]
    assert education[:3] == [date(2017, 1, 30), date(2017, 2, 2), date(2017, 2, 6)]
    assert education[3:] == [d for d in planned if d >= date(2017, 2, 9)]


def test_downtime_over_a_weekend_and_bank_holiday_is_caught_up_once(app: App) -> None:
    run_import(app, seed("002"))
    plan_day(app, date(2017, 4, 13))  # Thursday before Easter
    after = plan_day(app, date(2017, 4, 19))  # down Friday (Good Friday) to Tuesday
    assert after
    assert set(after.values()) == {1}
    with app.sessions() as session:
        periods = sorted(set(session.scalars(select(Delivery.period))))
    assert periods == [date(2017, 4, 13), date(2017, 4, 19)]


def test_a_period_is_planned_once(app: App) -> None:
    run_import(app, seed("002"))
    first = plan_day(app, date(2017, 2, 16))
    with pytest.raises(IntegrityError):
        plan_day(app, date(2017, 2, 16))
    assert sent_per_recipient(app, date(2017, 2, 16)) == first


def test_preview_writes_files_and_changes_nothing(app: App, tmp_path: Path) -> None:
    run_import(app, seed("002"))
    result = CliRunner().invoke(
        main,
        [
            "preview",
            "--on",
            "2017-02-16",
            "--out",
            str(tmp_path),
            "--to",
            "education.adviser@example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 digest(s)" in result.output
    assert len(list(tmp_path.glob("*.eml"))) == 1
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "3.1" in html
    assert sent_per_recipient(app, date(2017, 2, 16)) == {}


def test_report_deliveries_csv(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_OUTBOX_DIR", str(tmp_path / "outbox"))
    run_import(app, seed("002"))
    result = CliRunner().invoke(main, ["send", "--on", "2017-02-16"])
    assert result.exit_code == 0, result.output
    report = CliRunner().invoke(main, ["report", "deliveries", "--csv"])
    lines = report.output.splitlines()
    assert lines[0] == "period,recipient,subject,top_stage,state,attempts,sent_at,message_id,error"
    assert any(
        line.startswith("2017-02-16,education.adviser@example.org,") and ",sent,1," in line
        for line in lines
    )
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(lines) - 1


def payload(app: App, day: date, email: str) -> dict[str, Any]:
    with app.sessions() as session:
        row = session.scalar(
            select(Delivery).where(Delivery.period == day, Delivery.recipient == email)
        )
        assert row is not None, (day, email)
        return row.payload


def test_resolved_items_are_reported_once_to_everyone_told(app: App) -> None:
    run_import(app, seed("002"))
    plan_day(app, date(2017, 2, 9))  # 3.1 enters stage 2: Education's contact and manager told
    with freeze_time("2017-02-09 15:00:00"):
        result = CliRunner().invoke(
            main, ["complete", "3.1", "--by", "education.adviser@example.org"]
        )
    assert result.exit_code == 0, result.output
    planned = plan_day(app, date(2017, 2, 10))
    for email in ("education.adviser@example.org", "education.manager@example.org"):
        assert planned.get(email) == 1
        resolved = payload(app, date(2017, 2, 10), email)["resolved"]
        assert [item["ref"] for item in resolved] == ["3.1"]
        assert not [i for i in payload(app, date(2017, 2, 10), email)["items"] if i["ref"] == "3.1"]
    later = plan_day(app, date(2017, 2, 13))
    for email in later:
        assert payload(app, date(2017, 2, 13), email)["resolved"] == []


def test_preview_works_for_a_period_already_sent_and_writes_nothing(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMINDERS_OUTBOX_DIR", str(tmp_path / "outbox"))
    run_import(app, seed("002"))
    sent = CliRunner().invoke(main, ["send", "--on", "2017-02-16"])
    assert sent.exit_code == 0, sent.output
    with app.sessions() as session:
        before = [
            (r.id, r.recipient, r.state, r.attempts) for r in session.scalars(select(Delivery))
        ]
        runs = session.scalar(select(func.count(PlanRun.id)))
    out = tmp_path / "preview"
    result = CliRunner().invoke(main, ["preview", "--on", "2017-02-16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(before)} digest(s) for 2017-02-16" in result.output
    with app.sessions() as session:
        after = [
            (r.id, r.recipient, r.state, r.attempts) for r in session.scalars(select(Delivery))
        ]
        assert session.scalar(select(func.count(PlanRun.id))) == runs
    assert after == before
    assert (out.stat().st_mode & 0o777) == 0o700
    files = list(out.iterdir())
    assert len(files) == 2 * len(before)
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}


def test_files_the_commands_create_are_the_users_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'r.db'}")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert ((tmp_path / "var").stat().st_mode & 0o777) == 0o700
    assert ((tmp_path / "var" / "r.db").stat().st_mode & 0o777) == 0o600
