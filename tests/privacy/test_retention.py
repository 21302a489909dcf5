"""The retention schedule: a review lists what is due, apply destroys exactly what it listed
that is still due and not held; holds on a plan and on a review (a case) keep everything
linked to them. The clock is the worker's own, moved on by its setting (no freezegun)."""

from __future__ import annotations

import html
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select, update

from tests.conftest import ROOT
from tests.console.test_console_browser import signed_in
from tests.support.browser import looked_at
from tests.support.console import MANAGER, link_token, partnership, sign_in
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.delivery.tick import run_tick
from worker.importers.history import keep_original
from worker.models import (
    Action,
    BriefingSession,
    Delivery,
    ImportRecord,
    MISheet,
    Obligation,
    RetentionReview,
    SignInLink,
    StageChange,
)
from worker.privacy.retention import Held

PLANS = """plan,ref,theme,scr_refs,action,lead_agency,target_date,progress,rag
Plan A,1,Professional curiosity,P,Audit the referrals,Health,01/06/2017,Done,Complete
Plan A,2,Professional curiosity,Q,Train the front door,Police,01/06/2017,Done,Complete
Plan A,3,Professional curiosity,Q,Review the strategy meetings,Police,01/06/2017,,Red
Plan B,1,Professional curiosity,R,Brief the schools,Education,01/06/2017,Done,Complete
"""
LATER = "Plan C,1,Professional curiosity,S,Audit the visits,Health,01/06/2017,Done,Complete\n"
TEN_YEARS_ON = "P3700D"  # the worker's clock, moved on past the plans' period


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def schedule(tmp_path: Path, holds: str) -> None:
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    rules = rules.replace("  months:\n", "  months:\n    plans: 120\n").replace(
        "  holds: []\n", f"  holds: {holds}\n")  # fmt: skip
    path = tmp_path / "rules.yaml"
    path.write_text(rules, encoding="utf-8")
    code, output = run("rules", "load", str(path), "--by", MANAGER, "--reason", "schedule")
    assert code == 0, output


def imported(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plans.csv"
    path.write_text(text, encoding="utf-8")
    code, output = run("import", str(path))
    assert code == 0, output


def actions(app: App) -> list[str]:
    with app.sessions() as session:
        rows = session.execute(select(Action.ref, Action.plan_id).order_by(Action.id))
        return [f"{plan}:{ref}" for ref, plan in rows]


def count(app: App, model: type) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_review_then_apply_destroys_what_it_listed_but_what_is_held(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported(tmp_path, PLANS.replace("Done,Complete\nPlan A,3", "Done,Red\nPlan A,3"))
    imported(tmp_path, PLANS)  # Plan A 2 open first, with its item; then closed
    schedule(tmp_path, '[{review: "Case P", reason: "inquiry"}, {plan: "Plan B", reason: "x"}]')
    assert run("send")[0] == 0  # digests sent today, with their bodies
    link_token(app, MANAGER)
    with app.sessions() as session:
        a2 = session.scalar(select(Action.id).where(Action.text == "Train the front door"))
        items = session.scalar(select(func.count()).where(Obligation.action_id == a2))
    assert items
    before = actions(app)
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)

    code, output = run("retention", "review", "--by", MANAGER)
    assert code == 0, output
    assert "Retention review 1" in output
    assert "plans" in output
    assert actions(app) == before  # a review destroys nothing
    imported(tmp_path, PLANS + LATER)  # after the review: due, but never listed

    code, output = run("retention", "apply", "1", "--by", MANAGER, "--reason", "schedule")
    assert code == 0, output
    assert "plans 1" in output
    left = actions(app)
    assert len(left) == len(before)  # Plan A 2 gone, Plan C 1 come
    with app.sessions() as session:
        assert session.get(Action, a2) is None
        assert session.scalar(select(func.count()).where(Obligation.action_id == a2)) == 0
        assert session.scalar(select(func.count()).where(
            StageChange.obligation_id.not_in(select(Obligation.id)))) == 0  # fmt: skip
        texts = set(session.scalars(select(Action.text)))
        reviewed = session.get(RetentionReview, 1)
        assert reviewed is not None
        assert (reviewed.applied_by, reviewed.reason) == (MANAGER, "schedule")
        destroyed = reviewed.destroyed or {}
        assert destroyed["plans"] == 1
        assert destroyed["digests"] >= 1
        assert destroyed["sign_in"] >= 1
        bodies = [d.payload for d in session.scalars(select(Delivery))]
    assert {"Audit the referrals", "Brief the schools", "Audit the visits"} <= texts  # held, new
    assert bodies  # the ledger stays
    assert all(b == {} for b in bodies)  # the digests' bodies gone
    assert count(app, SignInLink) == 0
    code, output = run("retention", "apply", "1", "--by", MANAGER, "--reason", "again")
    assert code == 1
    assert "review 1 was applied" in output


def test_a_hold_written_after_the_review_still_keeps_what_it_names(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported(tmp_path, PLANS)
    schedule(tmp_path, "[]")
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)
    code, output = run("retention", "review", "--by", MANAGER)
    assert code == 0, output
    monkeypatch.delenv("REMINDERS_CLOCK_OFFSET")
    schedule(tmp_path, '[{review: "Q", reason: "a new inquiry"}, {plan: "plan b", reason: "x"}]')
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)
    code, output = run("retention", "apply", "1", "--by", MANAGER, "--reason", "schedule")
    assert code == 0, output
    assert "plans 1" in output  # Plan A 1 (case P) only: Q and Plan B are held now
    texts = set(actions(app))
    assert len(texts) == 3


def test_the_latest_review_is_on_the_business_managers_overview(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported(tmp_path, PLANS)
    schedule(tmp_path, "[]")
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)
    assert run("retention", "review", "--by", MANAGER)[0] == 0
    monkeypatch.delenv("REMINDERS_CLOCK_OFFSET")
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = html.unescape(client.get("/console/").text)
    assert f"Review 1, made by {MANAGER}" in page
    assert "due for destruction, plans: 4 records." in page  # 3 closed actions, Plan B
    assert "Not applied: nothing is destroyed until" in page


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ("retention: {months: {diaries: 12}}", "retention.months.diaries"),
        ("retention: {months: {plans: 0}}", "retention.months.plans"),
        ("retention: {holds: [{plan: A, review: P, reason: x}]}", "name one of plan, review"),
        ("retention: {holds: [{plan: A}]}", "retention.holds[0].reason"),
        ('retention: {holds: [{plan: "", reason: x}]}', "retention.holds[0]: Value error, name"),
        ('retention: {holds: [{review: " - ", reason: x}]}', "this hold names nothing"),
    ],
)
def test_a_schedule_that_cannot_be_read_is_refused_by_its_key(
    tmp_path: Path, section: str, said: str
) -> None:
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(rules[: rules.index("retention:")] + section + "\n", encoding="utf-8")
    code, output = run("rules", "check", str(path))
    assert code == 1
    assert said in output


def test_mi_sheets_past_their_period_go_with_their_sessions_and_items_but_a_held_one(
    app: App, tmp_path: Path
) -> None:
    partnership(app)  # the seed sheets, due in 2016 and 2017, with their sessions and items
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    rules = rules.replace("  months:\n", "  months:\n    mi_sheets: 12\n").replace(
        "  holds: []\n", '  holds: [{mi_sheet: "3/17", reason: "a review of briefings"}]\n')  # fmt: skip
    path = tmp_path / "rules.yaml"
    path.write_text(rules, encoding="utf-8")
    assert run("rules", "load", str(path), "--by", MANAGER, "--reason", "schedule")[0] == 0
    with app.sessions() as session:
        sheets = {
            number: id_ for number, id_ in session.execute(select(MISheet.number, MISheet.id))
        }
    assert "3/17" in sheets
    assert len(sheets) > 1
    code, output = run("retention", "review", "--by", MANAGER)
    assert (code, "mi_sheets" in output) == (0, False)  # their items are open: none due
    with app.sessions() as session, session.begin():  # every item done long ago
        session.execute(update(Obligation).values(resolved_on=date(2017, 12, 1)))
    assert run("retention", "review", "--by", MANAGER)[0] == 0
    code, output = run("retention", "apply", "2", "--by", MANAGER, "--reason", "schedule")
    assert code == 0, output
    assert f"mi_sheets {len(sheets) - 1}" in output
    held = sheets["3/17"]
    with app.sessions() as session:
        assert list(session.scalars(select(MISheet.id))) == [held]
        assert set(session.scalars(select(BriefingSession.mi_sheet_id))) == {held}
        assert set(session.scalars(select(Obligation.mi_sheet_id).where(
            Obligation.mi_sheet_id.is_not(None)))) == {held}  # fmt: skip


def test_a_hold_on_actions_keeps_only_their_items(app: App) -> None:
    partnership(app)  # a plan's action items and MI sheets' items (no action)
    with app.sessions() as session:
        one = session.scalar(select(Obligation.action_id).where(
            Obligation.action_id.is_not(None)).limit(1))  # fmt: skip
        assert one is not None
        keep = Held(frozenset(), frozenset({one}), frozenset())
        free = session.scalar(select(func.count()).where(~keep.obligation())) or 0
        everything = session.scalar(select(func.count()).select_from(Obligation)) or 0
        kept = session.scalar(select(func.count()).where(Obligation.action_id == one)) or 0
    assert free == everything - kept  # a sheet's item (action NULL) is not kept by it


def test_the_overview_with_a_review_passes_axe_and_the_nu_checker(
    app: App, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported(tmp_path, PLANS)
    schedule(tmp_path, "[]")
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)
    assert run("retention", "review", "--by", MANAGER)[0] == 0
    assert run("retention", "apply", "1", "--by", MANAGER, "--reason", "schedule")[0] == 0
    monkeypatch.delenv("REMINDERS_CLOCK_OFFSET")
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.goto("/console/")
        heading = page.get_by_role("heading", name="Retention: the latest review")
        expect(heading).to_be_visible()
        looked_at(page, f"{app.engine.dialect.name}-retention-overview")


def test_the_imports_of_a_plan_with_open_items_are_kept_with_their_originals(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plan A has an open action: its import's history and original stay; Plan B, closed,
    read from a file of its own, goes."""
    originals = tmp_path / "imports"
    monkeypatch.setenv("REMINDERS_IMPORTS_DIR", str(originals))
    header, *rows = PLANS.splitlines(keepends=True)
    for name, plan in (("a.csv", "Plan A"), ("b.csv", "Plan B")):
        path = tmp_path / name
        path.write_text(header + "".join(r for r in rows if r.startswith(plan)), "utf-8")
        code, output = run("import", str(path))
        assert code == 0, output
    kept = sorted(p.name for p in originals.iterdir())
    assert len(kept) == 2
    rules = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(rules.replace("  months:\n", "  months:\n    imports: 12\n"), "utf-8")
    assert run("rules", "load", str(path), "--by", MANAGER, "--reason", "schedule")[0] == 0
    monkeypatch.setenv("REMINDERS_CLOCK_OFFSET", TEN_YEARS_ON)
    code, output = run("retention", "review", "--by", MANAGER)
    assert code == 0, output
    code, output = run("retention", "apply", "1", "--by", MANAGER, "--reason", "schedule")
    assert code == 0, output
    with app.sessions() as session:
        left = [r.file_name for r in session.scalars(select(ImportRecord))]
    assert left == ["a.csv"]
    assert len(list(originals.iterdir())) == 1


def test_a_document_uploaded_only_for_a_preview_is_removed_once_its_preview_is_over(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept while a console session could still confirm it (uploaded again: from then);
    an imported one stays."""
    originals = tmp_path / "imports"
    monkeypatch.setenv("REMINDERS_IMPORTS_DIR", str(originals))
    app.settings = app.settings.model_copy(update={"imports_dir": originals})
    imported(tmp_path, PLANS)
    [confirmed] = list(originals.iterdir())
    previews = [keep_original(originals, f"preview {n}".encode()) for n in range(3)]
    long_ago = (app.now() - timedelta(days=2)).timestamp()
    for path in (confirmed, *previews):
        os.utime(path, (long_ago, long_ago))
    keep_original(originals, b"preview 1")  # uploaded again for a new preview
    run_tick(app, app.now(), lambda _: None)
    assert sorted(originals.iterdir()) == sorted([confirmed, previews[1]])
