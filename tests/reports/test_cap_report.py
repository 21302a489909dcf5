"""The CAP report back out: written as Word, Excel and a web page by `reminders report cap`
and the console, reopened here with python-docx and openpyxl and its contents checked."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from click.testing import CliRunner
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.shared import Length
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from sqlalchemy import select, update

from tests.console.test_console_rules import dmy
from tests.support.console import CHAIR, MANAGER, NURSE, daily_run, partnership, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.models import Action, Obligation, Plan

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


def test_the_word_report_is_on_a4_turned_for_its_wide_tables(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    document = Document(io.BytesIO(report(app, tmp_path, "docx")))
    [section] = document.sections
    assert section.orientation == WD_ORIENT.LANDSCAPE
    width, height, top, bottom, left, right = (
        length.mm if length is not None else 0.0
        for length in (section.page_width, section.page_height, section.top_margin,
                       section.bottom_margin, section.left_margin, section.right_margin)
    )  # fmt: skip
    assert (round(width, 1), round(height, 1)) == (297, 210)  # Word keeps twips: 296.99 mm
    assert all(12 <= margin <= 25 for margin in (top, bottom, left, right))
    for table in document.tables:  # each table as wide as the page's text, no wider
        columns = sum(Length(column.width or 0).mm for column in table.columns)
        assert columns == pytest.approx(width - left - right, abs=1)


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


def test_the_excel_target_dates_are_dates_excel_sorts(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    with app.sessions() as session:
        dates = dict(session.execute(select(Action.ref, Action.target_date)).all())
    sheet = load_workbook(io.BytesIO(report(app, tmp_path, "xlsx")))["Actions"]
    assert sheet["E1"].value == "Target date"
    targets = {row[1].value: row[4] for row in sheet.iter_rows(min_row=2)}
    for ref in ("1.1", "1.2", "1.3", "2.1"):
        cell = targets[ref]
        assert isinstance(cell, Cell)
        assert cell.is_date, (ref, cell.value, cell.data_type)
        assert isinstance(cell.value, datetime)
        assert cell.value.date() == dates[ref]
        assert cell.number_format in ("d mmmm yyyy", "dd/mm/yyyy")  # the UK way round
    assert (targets["2.2"].value, targets["2.2"].data_type) == ("TBC", "s")
    assert sheet["C2"].data_type == "s"  # the words stay text


def test_the_web_page_report_is_escaped_and_says_status_in_words(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    page = report(app, tmp_path, "html").decode()
    assert "Share &lt;the&gt; learning" in page
    assert '<td class="status Overdue">Overdue</td>' in page
    assert '<td class="status Due-soon">Due soon</td>' in page


def test_the_command_names_its_file_for_the_plan_and_day(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_of_every_status(app, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "cap", "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    name = f"{TITLE} - CAP report - {app.today().isoformat()}.xlsx"
    assert result.output.startswith(f"{name}: {TITLE}, 5 actions")
    assert load_workbook(tmp_path / name).sheetnames == ["Summary", "Actions"]


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
    kind, name = download_name(got)
    assert kind == ("inline" if form == "html" else "attachment")
    assert name == f"{TITLE} - CAP report - {app.today().isoformat()}.{form}"
    assert contents(form, got.content) == contents(form, report(app, tmp_path, form))
    with serving(app) as nurse:
        sign_in(nurse, app, NURSE)
        assert nurse.get(f"/console/reports/cap.{form}").status_code == 403


def download_name(got: httpx.Response) -> tuple[str, str]:
    """Content-Disposition read as a browser reads it (RFC 6266): its kind, and the name in
    `filename*` (RFC 5987), after checking the ASCII `filename` beside it cannot break out."""
    header = got.headers["content-disposition"]
    found = re.fullmatch(r"(attachment|inline); filename=\"([ -~]*)\"; "
                         r"filename\*=UTF-8''([A-Za-z0-9%._~-]+)", header)  # fmt: skip
    assert found, header
    assert not set(found.group(2)) & set('"\\;'), header
    return found.group(1), unquote(found.group(3), errors="strict")


def test_each_plan_downloads_under_its_own_name(app: App, tmp_path: Path) -> None:
    partnership(app)  # the seed plan
    plan_of_every_status(app, tmp_path)
    with app.sessions() as session:
        titles = list(session.scalars(select(Plan.title)))
    on = app.today().isoformat()
    with serving(app) as manager:
        sign_in(manager, app, MANAGER)
        for form in ("docx", "xlsx"):
            address = f"/console/reports/cap.{form}"
            names = [download_name(manager.get(address, params={"plan": t})) for t in titles]
            assert names == [("attachment", f"{t} - CAP report - {on}.{form}") for t in titles]
            assert len(set(names)) == 2


def test_a_title_of_any_characters_gives_a_safe_download_name(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    title = 'Révision «Child D» "part 2"; x=1\r\nSet-Cookie: a=b / 2016'
    with app.sessions.begin() as session:
        session.execute(update(Plan).values(title=title))
    with serving(app) as manager:
        sign_in(manager, app, MANAGER)
        got = manager.get("/console/reports/cap.xlsx", params={"plan": title})
    assert got.status_code == 200
    assert "set-cookie" not in got.headers
    kind, name = download_name(got)
    assert kind == "attachment"
    safe = "Révision «Child D» _part 2_; x=1 Set-Cookie_ a=b _ 2016"
    assert name == f"{safe} - CAP report - {app.today().isoformat()}.xlsx"


def test_the_web_page_opens_in_the_browser_with_its_own_style(app: App, tmp_path: Path) -> None:
    plan_of_every_status(app, tmp_path)
    with serving(app) as manager:
        sign_in(manager, app, MANAGER)
        imports = manager.get("/console/imports").text
        got = manager.get("/console/reports/cap.html", params={"plan": TITLE})
    [link] = re.findall(r"<a [^>]*cap\.html[^>]*>", imports)
    assert " download" not in link
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert download_name(got)[0] == "inline"
    [style] = re.findall(r"<style>(.*?)</style>", got.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = got.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}';" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "script-src" not in policy


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
