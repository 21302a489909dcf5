"""Escalate now on the console's item page, on both databases: the stage chosen begins at
once, with who and why in the record and on the page; never downwards."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.conftest import new_version
from tests.console.test_console_lists import plan
from tests.rules.test_escalate_command import ON_REQUEST
from tests.support.console import MANAGER, post, sign_in
from tests.support.web import serving
from worker.app import App
from worker.config.versions import RULES
from worker.models import ConsoleAction, Obligation


def test_escalate_now_on_the_item_page(app: App, tmp_path: Path) -> None:
    new_version(app, RULES, ON_REQUEST)
    yesterday = app.rules().calendar().add(app.today(), -1)
    plan(app, tmp_path, [("5.1", "Health", yesterday)])  # stage 1 today
    with app.sessions() as session:
        number = session.scalar(select(Obligation.id).where(Obligation.stage == 1))
    assert number is not None
    page = f"/console/items/{number}"
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown = client.get(page)
        assert "Escalate now</button>" in shown.text
        assert '<option value="3">Stage 3: Senior manager' in shown.text
        assert '<option value="1">' not in shown.text  # only upwards
        assert "next, stage 2 on" in shown.text
        empty = post(client, f"{page}/escalate", page, stage="3", note="")
        assert empty.status_code == 409
        assert "the reason for escalating is needed" in empty.text
        done = post(client, f"{page}/escalate", page, stage="3", note="no agreement reached")
        assert done.status_code == 303, done.text[-500:]
        after = client.get(page).text
        down = post(client, f"{page}/escalate", page, stage="2", note="back down")
    assert "escalated on request to stage 3: no agreement reached" in after
    assert f"(by {MANAGER})" in after
    assert "next, stage 4 on request (no time limit)" not in after  # stage 4 is timed
    assert down.status_code == 409
    assert "an escalation only goes up" in down.text
    with app.sessions() as session:
        row = session.get(Obligation, number)
        assert row is not None
        assert row.stage == 3
        action = session.scalar(select(ConsoleAction).where(ConsoleAction.action == "escalate"))
        assert action is not None
        assert action.email == MANAGER
