"""A daily digest asked for where the rules give a weekly one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from tests.support.console import NURSE, post, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.delivery.tick import plan_once
from worker.mail.preferences import daily_readers
from worker.models import ConsoleAction, Delivery

MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


def stage_one_on_monday(app: App, tmp_path: Path) -> None:
    """A Health action due on Friday 27 November: at stage 1 from Monday, stage 2 a week on."""
    path = tmp_path / "plan.csv"
    path.write_text("plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"
                    "Plan,9.1,Professional curiosity,A,Audit the referrals,Health,27/11/2026,\n",
                    encoding="utf-8")  # fmt: skip
    run_import(app, path)


def nurse_digests(app: App) -> list[date]:
    with app.sessions() as session:
        query = select(Delivery.period).where(Delivery.recipient == NURSE)
        return sorted(session.scalars(query))


def week(app: App) -> list[date]:
    for day in (MONDAY, TUESDAY):
        plan_once(app, app.rules(), day, app.partnership_label())
    return nurse_digests(app)


def test_weekly_by_the_rules(app: App, tmp_path: Path) -> None:
    stage_one_on_monday(app, tmp_path)
    assert week(app) == [MONDAY]  # stage 1 only, nothing new on Tuesday: weekly


def test_daily_when_asked_for_in_the_console(app: App, tmp_path: Path) -> None:
    stage_one_on_monday(app, tmp_path)
    with serving(app) as client:
        sign_in(client, app, NURSE)
        page = client.get("/console/mine").text
        assert "<h1>My items</h1>" in page
        assert "<title>My items – partnership console</title>" in page
        assert page.count('action="/console/preferences"') == 1
        assert 'name="digest" value="rules" checked' in page
        done = post(client, "/console/preferences", "/console/mine", digest="daily")
        assert done.status_code == 303
        shown = client.get(done.headers["location"]).text
        assert "Saved: a digest every working day you have items" in shown
        assert 'name="digest" value="daily" checked' in shown
    with app.sessions() as session:
        assert daily_readers(session) == {NURSE}
        action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
        assert action is not None
        assert (action.action, action.email, action.subject) == (
            "digest preference", NURSE, "daily"
        )  # fmt: skip
    assert week(app) == [MONDAY, TUESDAY]
