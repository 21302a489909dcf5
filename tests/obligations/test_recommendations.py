"""Recommendations from learning briefings: imported as a review's recommendations; one no
CAP action answers within the configured working days becomes the business manager's item;
an action whose SCR Ref names the case is suggested, and linking one completes the item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from docx import Document
from sqlalchemy import select

from tests.support.console import CHAIR, MANAGER, csrf, sign_in
from tests.support.helpers import NOW, run_import
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.models import ConsoleAction, Obligation, Recommendation
from worker.obligations import record, sync_obligations
from worker.obligations.recommendations import case_of, standings

BRIEFING = """Learning briefing for practitioners

# Local Child Safeguarding Practice Review: Child D

What happened, and what we learned.

## **Recommendation 1.**

Agencies should share chronologies
before every strategy meeting.

## Recommendation 2:

The partnership should audit the use of escalation policies.

# Our response

- A new chronology template.
"""
PLAN = (
    "Composite Action Plan of the review group\nTheme,Ref,Case,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,LCSPR Child D,Share chronologies,Health,June 2027\n"
    "Professional curiosity,1.2,Case A1,Audit the referrals,Police,June 2027\n"
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def imported(app: App, tmp_path: Path) -> None:
    briefing, plan = tmp_path / "briefing.md", tmp_path / "plan.csv"
    briefing.write_text(BRIEFING, encoding="utf-8")
    plan.write_text(PLAN, encoding="utf-8")
    results = run_import(app, briefing, plan)
    assert [r.error for r in results] == [None, None]


def daily_run_on(app: App, day: date) -> None:
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, day)
    with transaction(app.sessions) as session:
        record(session, app.rules(), day)


@dataclass(frozen=True)
class Item:
    target: date | None
    stage: int
    events: list[tuple[str, str, str]]  # kind, by, note


def items(app: App) -> dict[int, Item]:
    """The business manager's recommendation items, by recommendation number."""
    with app.sessions() as session:
        rows = session.scalars(select(Obligation).where(Obligation.kind == "recommendation"))
        return {row.recommendation.number: Item(row.target_date, row.stage,
                                                [(e.kind, e.by, e.note) for e in row.events])
                for row in rows if row.recommendation}  # fmt: skip


def test_a_briefing_gives_the_reviews_recommendations(app: App, tmp_path: Path) -> None:
    imported(app, tmp_path)
    with app.sessions() as session:
        found = session.scalars(select(Recommendation).order_by(Recommendation.number)).all()
        assert [(r.review, r.number, r.text) for r in found] == [
            ("Child D", 1, "Agencies should share chronologies before every strategy meeting."),
            ("Child D", 2, "The partnership should audit the use of escalation policies."),
        ]
        [first, second] = standings(session)
        assert [a.ref for a in first.suggested] == ["1.1"]  # its SCR Ref names Child D
        assert [a.ref for a in second.suggested] == ["1.1"]


def test_the_same_briefing_in_word_imports_the_same(app: App, tmp_path: Path) -> None:
    document = Document()
    document.add_heading("Local Child Safeguarding Practice Review: Child D", level=1)
    document.add_paragraph("What happened, and what we learned.")
    document.add_heading("Recommendation 1.", level=2)
    document.add_paragraph("Agencies should share chronologies before every strategy meeting.")
    document.add_heading("Our response", level=1)
    document.add_paragraph("A new chronology template.")
    path = tmp_path / "briefing.docx"
    document.save(str(path))
    [result] = run_import(app, path)
    assert result.error is None, result.error
    with app.sessions() as session:
        [row] = session.scalars(select(Recommendation))
    assert (row.review, row.number) == ("Child D", 1)
    assert row.text == "Agencies should share chronologies before every strategy meeting."


def test_cases_are_matched_whatever_words_surround_them() -> None:
    assert case_of("Case A1") == case_of("A1") == case_of("SCR Case A1") == "a1"
    assert case_of("LCSPR Child D") == case_of("Child D") == "d"
    assert case_of("Rapid Review E") == "e"
    assert case_of("Case A1") != case_of("Case A11")


def test_an_unanswered_recommendation_becomes_the_managers_item(app: App, tmp_path: Path) -> None:
    imported(app, tmp_path)
    calendar = app.rules().calendar()
    days = app.rules().recommendation_action_days
    due = calendar.add(NOW.date(), days)
    daily_run_on(app, NOW.date())
    found = items(app)
    assert set(found) == {1, 2}
    assert found[1].target == due
    assert found[1].stage == -1  # not yet due
    later = calendar.add(due, 1)
    code, output = run("escalation", "status", "--on", later.isoformat(), "--json")
    assert code == 0, output
    rows = {r["ref"]: r for r in json.loads(output) if r["kind"] == "recommendation"}
    first = rows["Recommendation 1 of Child D"]
    assert first["owner"] == "the business manager (a recommendation without an action)"
    assert first["stage"] >= 1
    assert MANAGER in [told["email"] for told in first["told"]]


def test_linking_an_action_completes_the_item(app: App, tmp_path: Path) -> None:
    imported(app, tmp_path)
    daily_run_on(app, NOW.date())
    code, output = run("recommendations", "link", "Child D", "1", "1.1", "--by", MANAGER)
    assert code == 0, output
    assert "answered by action 1.1" in output
    with app.sessions() as session:
        row = session.scalar(select(Recommendation).where(Recommendation.number == 1))
        assert row is not None
        assert (row.action.ref if row.action else None, row.linked_by) == ("1.1", MANAGER)
    first = items(app)[1]
    assert first.events == [
        ("completed", MANAGER, "answered by action 1.1 (Composite Action Plan of the review group)")
    ]
    daily_run_on(app, app.today())  # the documents agree: nothing more happens to it
    assert [kind for kind, _, _ in items(app)[1].events] == ["completed"]
    code, output = run("recommendations", "link", "Child D", "9", "1.1", "--by", MANAGER)
    assert "no recommendation 9" in output


def test_the_manager_links_in_the_console_and_the_chair_only_looks(
    app: App, tmp_path: Path
) -> None:
    imported(app, tmp_path)
    daily_run_on(app, NOW.date())
    with serving(app) as chair:
        sign_in(chair, app, CHAIR)
        shown = chair.get("/console/recommendations").text
        assert "Child D, recommendation 1" in shown
        assert "answers it</button>" not in shown
        assert chair.post("/console/recommendations/1/link",
                          data={"csrftoken": csrf(chair.get("/console/recommendations")),
                                "action": "1"}).status_code == 403  # fmt: skip
    with serving(app) as manager:
        sign_in(manager, app, MANAGER)
        page = manager.get("/console/recommendations")
        assert "Action 1.1 (Composite Action Plan of the review group) answers it" in page.text
        with app.sessions() as session:
            second = session.scalar(select(Recommendation).where(Recommendation.number == 2))
            assert second is not None
        wrong = manager.post(f"/console/recommendations/{second.id}/link",
                             data={"csrftoken": csrf(page), "plan": "No such plan",
                                   "ref": "1.1"})  # fmt: skip
        assert wrong.status_code == 422
        done = manager.post(f"/console/recommendations/{second.id}/link",
                            data={"csrftoken": csrf(page), "ref": "1.2",
                                  "plan": "Composite Action Plan of the review group"})  # fmt: skip
        assert done.status_code == 303
        notice = manager.get(done.headers["location"]).text
    assert "Recommendation 2 of Child D is answered by action 1.2" in notice
    assert items(app)[2].events[-1][0] == "completed"
    with app.sessions() as session:
        kept = session.scalar(select(ConsoleAction).where(
            ConsoleAction.action == "recommendation linked"))  # fmt: skip
        assert kept is not None
        assert kept.subject == "Child D recommendation 2 → 1.2"
