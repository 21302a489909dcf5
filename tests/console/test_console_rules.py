"""The console's rules page: the rules as a form, checked and previewed before they are saved."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from tests.conftest import new_version
from tests.support.console import CHAIR, MANAGER, NURSE, csrf, daily_run, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY, RULES, history, text_in_force
from worker.db import transaction
from worker.models import Change, ConsoleAction, Obligation
from worker.obligations.preview import preview
from worker.rules.form import RulesFields, fields_of
from worker.workdays import BEYOND_CALENDAR

PAGE = "/console/rules"
Fields = list[tuple[str, str]]


def form_values(fields: RulesFields) -> Fields:
    """The form as a browser sends it, unchanged."""
    sent = [("due_soon.name", fields.due_soon_name),
            ("due_soon.working_days_before", fields.due_soon_days),
            *(("due_soon.tell", role) for role in fields.due_soon_tell)]  # fmt: skip
    for i, stage in enumerate(fields.stages):
        sent += [
            (f"stages[{i}].name", stage.name),
            (f"stages[{i}].enters_after", stage.enters_after),
            (f"stages[{i}].unit", stage.unit),
        ]
        sent += [(f"stages[{i}].tell", role) for role in stage.tell]
    sent += list(fields.numbers.items())
    sent += [("closure_days", d) for d in fields.closure_days]
    sent += [("digests.send_at", fields.send_at),
             ("digests.daily_from_stage", fields.daily_from_stage)]  # fmt: skip
    for name, group in fields.audiences:
        sent += [("audience", name), ("group", group)]
    return sent


def changed(fields: Fields, values: dict[str, str]) -> Fields:
    """`fields` with each field named in `values` set to its value."""
    return [(k, v) for k, v in fields if k not in values] + list(values.items())


LATER = "stages[1].enters_after"  # stage 2's working days


def in_force(app: App) -> Fields:
    with app.sessions() as session:
        text, _ = text_in_force(session, RULES, app.settings.config_dir)
    return form_values(fields_of(text))


def send(client: httpx.Client, fields: Fields, **extra: str) -> httpx.Response:
    page = client.get(PAGE)
    base = re.search(r'name="base" value="(\d+)"', page.text)
    assert base, "no base version on the form"
    return posted(client, [("csrftoken", csrf(page)), ("base", base.group(1)), *fields,
                           *extra.items()])  # fmt: skip


def posted(client: httpx.Client, fields: Fields) -> httpx.Response:
    """A form with repeated fields (checkboxes), URL-encoded as a browser sends it."""
    kind = {"content-type": "application/x-www-form-urlencoded"}
    return client.post(PAGE, content=urlencode(fields), headers=kind)


def previewed(answer: httpx.Response) -> str:
    found = re.search(r'name="previewed" value="([0-9a-f]{64})"', answer.text)
    assert found, "no preview to save"
    return found.group(1)


def field_error(answer: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{re.escape(element_id)}-error">(.*?)</p>', answer.text)
    assert found, f"no message beside {element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def soon_due_plan(app: App, tmp_path: Path) -> None:
    """One Health action due in three working days, and one overdue since last week."""
    calendar = app.rules().calendar()
    soon = calendar.add(app.today(), 3)
    late = calendar.add(app.today(), -3)
    header = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"
    rows = (f"Rules plan,9.1,Professional curiosity,A,Audit the referrals,Health,{dmy(soon)},\n"
            f"Rules plan,9.2,Professional curiosity,A,Train the front door,Health,{dmy(late)},\n")  # fmt: skip
    path = tmp_path / "plan.csv"
    path.write_text(header + rows, encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    daily_run(app)


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def test_the_rules_in_force_are_shown_as_a_form(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = client.get(PAGE)
    assert page.status_code == 200
    assert 'id="f-stages-1-enters-after" name="stages[1].enters_after" value="5"' in page.text
    assert 'name="stages[3].tell" value="independent_chair" checked' in page.text
    assert 'name="digests.send_at" value="08:00"' in page.text
    assert 'value="save"' not in page.text  # saving comes after a preview


def test_a_preview_lists_the_items_that_move_and_saves_nothing(app: App, tmp_path: Path) -> None:
    soon_due_plan(app, tmp_path)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        answer = send(client, changed(in_force(app), {LATER: "2"}), do="preview")
    assert answer.status_code == 200, answer.text
    assert "1 of 2 live items would change stage" in answer.text
    moved = answer.text[answer.text.index('id="moved"') : answer.text.index('id="counts"')]
    assert "9.1 (Rules plan)" in moved  # due soon: it will climb under the new rules
    assert re.search(r"stage 2 from \d+ \w+ 2026; stage 3", moved)
    assert "→" in answer.text[answer.text.index('id="counts"') :]
    with app.sessions() as session:
        assert [v.number for v in history(session, RULES)] == [1]


def test_new_rules_for_new_items_leave_a_climbing_item_alone(app: App, tmp_path: Path) -> None:
    """9.2 is on the ladder with the copy it started with; only a re-apply moves it."""
    soon_due_plan(app, tmp_path)
    proposal = changed(in_force(app), {LATER: "2"})
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        kept = send(client, proposal, do="preview", applies="new").text
        again = send(client, proposal, do="preview", applies="all").text
    assert "1 of 2 live items would change stage" in kept
    assert "9.2 (Rules plan)" not in kept[kept.index('id="moved"') :]
    assert "2 of 2 live items would change stage" in again


def test_a_broken_value_is_refused_with_its_message_beside_the_field(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        answer = send(client, changed(in_force(app), {LATER: "soon",
                                      "digests.send_at": "8 o'clock"}), do="preview")  # fmt: skip
    assert answer.status_code == 422
    assert field_error(answer, "f-stages-1-enters-after").startswith(
        "Error: must be a whole number, got 'soon'"
    )  # fmt: skip
    assert 'aria-invalid="true"' in answer.text
    assert 'href="#f-stages-1-enters-after">stages[1].enters_after: must be' in answer.text
    assert field_error(answer, "f-digests-send-at").startswith("Error: ")
    assert 'value="soon"' in answer.text  # what was typed stays, to be mended
    assert "Preview:" not in answer.text


def test_a_stage_that_reaches_nobody_is_warned_of(app: App) -> None:
    directory = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
    police_manager = re.compile(r"\n +- \{role: line_manager, name: Detective Inspector[^\n]*")
    new_version(app, DIRECTORY, police_manager.sub("", directory))
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        answer = send(client, in_force(app), do="preview")
    assert answer.status_code == 200
    warnings = answer.text[answer.text.index('id="warnings"') :]
    assert "stages[1].tell: tells nobody at Police, which has no line_manager" in warnings
    assert previewed(answer)  # a warning does not stop a save


def test_saved_after_a_preview_with_a_reason_and_recorded(app: App, tmp_path: Path) -> None:
    soon_due_plan(app, tmp_path)
    proposal = changed(in_force(app), {LATER: "2", "applies": "all"})
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        unseen = send(client, proposal, do="save", reason="agreed at the board")
        assert "Preview:" in unseen.text  # not saved: nothing was previewed
        shown = previewed(unseen)
        no_reason = send(client, proposal, do="save", previewed=shown)
        assert field_error(no_reason, "f-reason") == "Error: say why the rules change"
        done = send(client, proposal, do="save", previewed=shown, reason="agreed at the board")
        assert done.status_code == 303
        assert done.headers["location"] == f"{PAGE}?saved=2"
        assert "Rules version 2 saved" in client.get(done.headers["location"]).text
    assert app.rules().stages[1].enters_after.amount == 2
    with app.sessions() as session:
        [newest, _] = history(session, RULES)
        assert (newest.made_by, newest.client, newest.reason) == (
            MANAGER, "127.0.0.1", "agreed at the board"
        )  # fmt: skip
        assert "# Every later stage starts this many working days" in newest.content  # kept
        action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
        assert action is not None
        assert (action.action, action.subject) == (
            "rules saved", "rules version 2, re-applied to 1 live item(s)"
        )  # fmt: skip
        climbing = session.scalar(select(Obligation).where(Obligation.stage >= 1))
        assert climbing is not None  # assessed at once, under the rules just saved
        assert climbing.ladder == app.rules().ladder().to_json()
        assert not climbing.pending
        change = session.scalar(select(Change).where(Change.field == "ladder"))
        assert change is not None
        assert change.source == f"rules version 2 by {MANAGER}"


def test_a_version_saved_meanwhile_is_never_overwritten(app: App) -> None:
    proposal = changed(in_force(app), {"acknowledgement_pause": "7"})
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown = previewed(send(client, proposal, do="preview"))
        token = csrf(client.get(PAGE))
        shipped = (app.settings.config_dir / "escalation.yaml").read_text(encoding="utf-8")
        weeks = shipped.replace("ongoing_review_weeks: 13", "ongoing_review_weeks: 8")
        new_version(app, RULES, weeks)
        sent = [("csrftoken", token), ("base", "1"), *proposal, ("do", "save"),
                ("previewed", shown), ("reason", "x")]  # fmt: skip
        stale = posted(client, sent)
    assert "Rules version 2 was saved after you opened this page" in stale.text
    assert app.rules().acknowledgement_pause == 10
    assert app.rules().ongoing_review_weeks == 8


def test_only_the_business_manager_changes_the_rules(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, CHAIR)
        page = client.get(PAGE)
        assert page.status_code == 200
        assert "Only the business manager can change the rules" in page.text
        assert send(client, in_force(app), do="preview").status_code == 403
        client.cookies.clear()
        sign_in(client, app, NURSE)
        assert client.get(PAGE).status_code == 403


def test_an_item_that_cannot_be_assessed_stops_no_preview(app: App, tmp_path: Path) -> None:
    soon_due_plan(app, tmp_path)
    with transaction(app.sessions) as session:
        row = session.scalar(select(Obligation).order_by(Obligation.id))
        assert row is not None
        row.target_date = date(9999, 12, 31)  # as a direct edit of the table would
    with app.sessions() as session:
        shown = preview(session, app.rules(), app.rules(), app.today(), reapply=True)
    assert shown.live == 2
    assert len(shown.skipped) == 1
    assert BEYOND_CALENDAR in shown.skipped[0]
    assert sum(now for now, _ in shown.counts[0]) == 1  # the other item is counted


def test_a_stage_in_hours_is_previewed_and_saved(app: App, tmp_path: Path) -> None:
    soon_due_plan(app, tmp_path)
    proposal = changed(in_force(app), {LATER: "48", "stages[1].unit": "hours"})
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = client.get(PAGE)
        assert '<option value="hours">hours (on working days)</option>' in page.text
        shown = send(client, proposal, do="preview")
        assert shown.status_code == 200
        assert "Preview:" in shown.text
        done = send(client, proposal, do="save", previewed=previewed(shown), reason="policy")
        assert done.status_code == 303
        again = client.get(PAGE)
    assert str(app.rules().stages[1].enters_after) == "48 hours"
    assert '<option value="hours" selected>' in again.text
    wrong = changed(in_force(app), {LATER: "0", "stages[1].unit": "hours"})
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        refused = send(client, wrong, do="preview")
    assert refused.status_code == 422
    assert field_error(refused, "f-stages-1-enters-after") == (
        "Error: hours: must be at least 1, got 0")  # fmt: skip
