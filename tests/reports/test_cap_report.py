"""The CAP report back out: written as Word, Excel and a web page by `reminders report cap`
and the console, reopened here with python-docx and openpyxl and its contents checked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from tests.console.test_console_rules import dmy
from tests.support.console import CHAIR, MANAGER, NURSE, daily_run, partnership, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.models import Action, Obligation

TITLE = "Composite Action Plan of the review group"
CURIOSITY = "Professional curiosity"
GRIP = "Ownership and accountability: management grip"


def plan_of_every_status(app: App, tmp_path: Path) -> None:
    """One action of each status, after the daily run."""
    calendar = app.rules().calendar()
    today = app.today()
    rows = [
        f"{CURIOSITY},1.1,Audit the referrals,Health,{dmy(calendar.add(today, -8))},Audit late",
        f"{CURIOSITY},1.2,Train the front door,Police,{dmy(calendar.add(today, 3))},Booked",
        f"{CURIOSITY},1.3,Share <the> learning,NSCB,{dmy(calendar.add(today, 80))},,Green",
        f"{GRIP},2.1,Report to the board,NSCB,{dmy(calendar.add(today, -20))},Done,Complete",
        f"{GRIP},2.2,Agree the dataset,Health,TBC,,Amber",
    ]
    path = tmp_path / "plan.csv"
    head = "Theme,Ref,Action,Lead agency,Target date,Progress,RAG"
    path.write_text("\n".join([TITLE, head, *rows]) + "\n", encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    daily_run(app)


def report(app: App, tmp_path: Path, form: str, *more: str) -> bytes:
    out = tmp_path / f"report.{form}"
    result = CliRunner().invoke(main, ["report", "cap", "--format", form, "--output", str(out),
                                       *more])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_the_word_report_groups_by_theme_under_a_summary(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    document = Document(io.BytesIO(report(app, tmp_path, "docx")))
    styled = [(p.style.name if p.style else "", p.text) for p in document.paragraphs]
    headings = [text for style, text in styled if style.startswith(("Heading", "Title"))]
    assert headings == [TITLE, "Summary: actions by status and theme", CURIOSITY, GRIP]
    summary, curiosity, grip = ([[c.text for c in row.cells] for row in t.rows]
                                for t in document.tables)  # fmt: skip
    assert summary == [
        ["Theme", "Overdue", "Due soon", "On track", "Complete"],
        [CURIOSITY, "1", "1", "1", "0"],
        [GRIP, "0", "0", "1", "1"],
        ["All themes", "1", "1", "2", "1"],
    ]
    assert curiosity[0] == ["Ref", "Action", "Lead agency", "Target date", "Status", "Stage",
                            "Progress", "Tracker's RAG"]  # fmt: skip
    ladder = app.rules().ladder()
    with app.sessions() as session:  # eight working days late: as far as the daily run took it
        stage = session.scalar(select(Obligation.stage).join(Action).where(Action.ref == "1.1"))
    assert stage is not None
    assert stage >= 1
    assert curiosity[1][4:] == ["Overdue", ladder.stage_name(stage), "Audit late", ""]
    assert curiosity[2][4:6] == ["Due soon", ladder.due_soon_name]
    assert curiosity[3][1] == "Share <the> learning"
    assert grip[1][4:6] == ["Complete", "Complete"]
    assert grip[2][3:6] == ["TBC", "On track", "Not yet due"]
    assert grip[2][7] == "Amber"


def test_the_excel_report_has_a_summary_and_a_filterable_sheet(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    book = load_workbook(io.BytesIO(report(app, tmp_path, "xlsx", "--plan", TITLE.upper())))
    assert book.sheetnames == ["Summary", "Actions"]
    summary = [list(r) for r in book["Summary"].iter_rows(min_row=4, values_only=True)]
    assert summary[0] == ["Theme", "Overdue", "Due soon", "On track", "Complete"]
    assert summary[-1] == ["All themes", 1, 1, 2, 1]
    actions = [list(r) for r in book["Actions"].iter_rows(values_only=True)]
    assert actions[0][:6] == ["Theme", "Ref", "Action", "Lead agency", "Target date", "Status"]
    statuses = {row[1]: row[5] for row in actions[1:]}
    assert statuses == {"1.1": "Overdue", "1.2": "Due soon", "1.3": "On track",
                        "2.1": "Complete", "2.2": "On track"}  # fmt: skip
    assert book["Actions"].auto_filter.ref is not None


def test_the_web_page_report_is_escaped_and_says_status_in_words(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    page = report(app, tmp_path, "html").decode()
    assert "Share &lt;the&gt; learning" in page
    assert '<td class="status Overdue">Overdue</td>' in page
    assert '<td class="status Due-soon">Due soon</td>' in page


def test_a_plan_must_be_named_among_several(app: App, tmp_path: Path) -> None:
    partnership(app)  # the seed plan
    plan_of_every_status(app, tmp_path)
    result = CliRunner().invoke(main, ["report", "cap", "--output", str(tmp_path / "x.docx")])
    assert result.exit_code != 0
    assert "name the plan: there are 2" in result.output
    result = CliRunner().invoke(main, ["report", "cap", "--plan", "nothing like it"])
    assert "no plan called 'nothing like it'" in result.output


@pytest.mark.parametrize("form", ["docx", "xlsx", "html"])
def test_the_console_downloads_the_report(app: App, tmp_path: Path, form: str) -> None:
    plan_of_every_status(app, tmp_path)
    with serving(app) as chair:
        sign_in(chair, app, CHAIR)
        listed = chair.get("/console/imports").text
        assert f"/console/reports/cap.{form}?plan=" in listed
        got = chair.get(f"/console/reports/cap.{form}", params={"plan": TITLE})
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith('attachment; filename="cap-report-')
    assert contents(form, got.content) == contents(form, report(app, tmp_path, form))
    with serving(app) as nurse:
        sign_in(nurse, app, NURSE)
        assert nurse.get(f"/console/reports/cap.{form}").status_code == 403


def contents(form: str, data: bytes) -> list[list[object]]:
    """What a report file says, whatever its package's timestamps."""
    if form == "docx":
        document = Document(io.BytesIO(data))
        return [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    if form == "xlsx":
        book = load_workbook(io.BytesIO(data))
        return [list(r) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)]
    return [[data.decode()]]


def test_actions_whose_date_is_to_be_set_are_flagged_to_the_manager(
    app: App, tmp_path: Path
) -> None:
    plan_of_every_status(app, tmp_path)
    with serving(app) as manager:
        sign_in(manager, app, MANAGER)
        overview = manager.get("/console/").text
    section = overview.split('id="dates-to-set"')[1].split("<h2")[0]
    assert "Target dates to set: the plan says TBC or TBA (1)" in section
    assert ">2.2</a>" in section
    assert ">1.1</a>" not in section
