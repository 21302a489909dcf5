"""Defects a review of the importers found, each shown here before it was mended: odd but real
documents (footers in PDFs, key sheets in workbooks, portal pages in one form), a plan name
given in the console, formulas in the CAP report, reviews named alike."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from openpyxl import Workbook, load_workbook
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate
from sqlalchemy import select

from tests.console.test_console_imports import GOOD, PAGE, confirm, upload
from tests.importers.test_pdf_and_web_pages import HEADER, PORTAL_PAGE, STYLES, ruled
from tests.support.console import MANAGER, sign_in
from tests.support.helpers import NOW, records, run_import
from tests.support.web import serving
from worker.app import App
from worker.db import transaction
from worker.importers import Received
from worker.models import Recommendation
from worker.obligations import keep_in_step
from worker.obligations.recommendations import find_recommendation
from worker.reports.cap import report_of
from worker.reports.files import written

TITLE = "Composite Action Plan of the review group"


def test_a_pdf_plan_with_page_footers_reads_across_its_pages(app: App, tmp_path: Path) -> None:
    rows = [HEADER] + [
        [f"1.{i}", "A1", f"Audit the referrals of team {i}", "Health", "June 2027", ""]
        for i in range(1, 41)
    ]

    def footer(canvas: Canvas, _document: object) -> None:
        canvas.drawString(280, 20, f"Page {canvas.getPageNumber()}")

    path = tmp_path / "plan.pdf"
    story = [Paragraph(TITLE, STYLES["Title"]),
             Paragraph("Professional curiosity", STYLES["Heading2"]), ruled(rows)]  # fmt: skip
    SimpleDocTemplate(str(path), pagesize=A4).build(story, onFirstPage=footer,
                                                    onLaterPages=footer)  # fmt: skip
    [result] = run_import(app, path)
    assert result.error is None, result.error
    assert len(records(app, "actions")) == 40


def test_a_workbook_with_an_update_row_and_a_key_sheet(app: App, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append([TITLE])
    sheet.append(["Last updated", "01/03/2027"])  # several cells above the header
    sheet.append(["Theme", "Ref", "Action", "Lead agency", "Target date", "RAG"])
    sheet.append(["Professional curiosity", "1.1", "Audit", "Health", "June 2027", "Amber"])
    key = book.create_sheet("Key")
    key.append(["RAG key"])
    key.append(["Red", "Off track"])
    key.append(["Amber", "At risk"])
    path = tmp_path / "tracker.xlsx"
    book.save(str(path))
    [result] = run_import(app, path)
    assert result.error is None, result.error
    [action] = records(app, "actions")
    assert (action["ref"], action["rag"]) == ("1.1", "Amber: At risk")  # as its key reads it


def test_a_portal_page_in_one_form_with_stray_separators_is_read(app: App, tmp_path: Path) -> None:
    page = PORTAL_PAGE.replace("<main>", "<form action='/x'>").replace("</main>", "</form>")
    page = page.replace("What", "What\x1f")  # a separator of the reader's own, in the text
    path = tmp_path / "sheet.html"
    path.write_text(page.replace("Questions to", "Questions\x1e\x1d to"), encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    assert [s["number"] for s in records(app, "mi-sheets")] == ["15/26"]


def test_a_row_shorter_than_its_ref_column_is_read_not_crashed_on(app: App, tmp_path: Path) -> None:
    text = (f"{TITLE}\n\nProfessional curiosity\t\n"
            "Theme\tSCR Ref\tRef\tAction\tLead agency\tTarget date\n"
            "\tA1\t1.1\tAudit\tHealth\t01/06/2027\nSigned off\tJ Smith\n")  # fmt: skip
    path = tmp_path / "plan.txt"
    path.write_text(text, encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    [action] = records(app, "actions")
    assert (action["ref"], action["action"]) == ("1.1", "Audit")  # the short row continued it


def test_a_briefing_naming_its_audience_and_links_is_no_mi_sheet(app: App, tmp_path: Path) -> None:
    text = ("# Rapid Review: Child E\n\nAudience: all practitioners\n\n"
            "Links to the full report: https://example.org/e\n\n"
            "## Recommendation 1.\n\nAgencies should:\n\n- review referral forms\n"
            "- train staff\n\n## Recommendation 2.\n\nThe partnership should audit.\n")  # fmt: skip
    path = tmp_path / "briefing.txt"
    path.write_text(text, encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    assert result.kind == "learning briefing"
    with app.sessions() as session:
        first = find_recommendation(session, "Child E", 1)
        assert first is not None
        assert first.text == "Agencies should: - review referral forms - train staff"


def test_a_word_briefing_keeps_the_list_a_recommendation_introduces(
    app: App, tmp_path: Path
) -> None:
    document = Document()
    document.add_heading("Serious Case Review: Case F", level=1)
    document.add_heading("Recommendation 1.", level=2)
    document.add_paragraph("Agencies should:")
    document.add_paragraph("review referral forms", style="List Bullet")
    document.add_paragraph("train staff", style="List Bullet")
    document.add_heading("Recommendation 2.", level=2)
    document.add_paragraph("The partnership should audit.")
    path = tmp_path / "briefing.docx"
    document.save(str(path))
    [result] = run_import(app, path)
    assert result.error is None, result.error
    with app.sessions() as session:
        rows = session.scalars(select(Recommendation).order_by(Recommendation.number)).all()
        assert [r.text for r in rows] == [
            "Agencies should: review referral forms train staff",
            "The partnership should audit.",
        ]


def test_reviews_named_alike_are_never_confused(app: App, tmp_path: Path) -> None:
    for review in ("Child D", "Case D"):
        path = tmp_path / f"{review}.txt"
        path.write_text(f"# Serious Case Review: {review}\n\n## Recommendation 1.\n\n"
                        f"Learn from {review}.\n", encoding="utf-8")  # fmt: skip
        [result] = run_import(app, path)
        assert result.error is None, result.error
    with app.sessions() as session:
        assert find_recommendation(session, "D", 1) is None  # which D? neither
        found = find_recommendation(session, "case d", 1)
        assert found is not None
        assert found.text == "Learn from Case D."


def test_closure_days_move_recommendation_deadlines(app: App, tmp_path: Path) -> None:
    path = tmp_path / "briefing.txt"
    path.write_text("# LCSPR: Child G\n\n## Recommendation 1.\n\nDo it.\n", encoding="utf-8")
    run_import(app, path)
    rules = app.rules()
    with transaction(app.sessions) as session:
        assert keep_in_step(session, rules, app.timezone, NOW.date())
    closed = rules.model_copy(update={"closure_days": [NOW.date()]})
    with transaction(app.sessions) as session:
        assert keep_in_step(session, closed, app.timezone, NOW.date())  # the sync ran again


def test_the_documented_csv_takes_tbc_and_keeps_a_rag_it_does_not_carry(
    app: App, tmp_path: Path
) -> None:
    head = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress"
    first = tmp_path / "with-rag.csv"
    first.write_text(f"{head},rag\n{TITLE},1.1,Professional curiosity,A,Audit,Health,TBC,,"
                     "Completed\n", encoding="utf-8")  # fmt: skip
    second = tmp_path / "without.csv"
    second.write_text(f"{head}\n{TITLE},1.1,Professional curiosity,A,Audit,Health,TBA,\n",
                      encoding="utf-8")  # fmt: skip
    assert [r.error for r in run_import(app, first)] == [None]
    [action] = records(app, "actions")
    assert (action["date_to_set"], action["rag"], action["status"]) == ("TBC", "Completed",
                                                                          "complete")  # fmt: skip
    assert [r.error for r in run_import(app, second)] == [None]
    [action] = records(app, "actions")
    assert (action["date_to_set"], action["rag"], action["status"]) == ("TBA", "Completed",
                                                                          "complete")  # fmt: skip


def test_the_excel_report_never_runs_a_plans_words_as_formulas(app: App, tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(f"{TITLE}\nTheme,Ref,Action,Lead agency,Target date\nProfessional "
                    'curiosity,1.1,"=HYPERLINK(""https://evil.example"",""Update"")",Health,'
                    "01/06/2027\n", encoding="utf-8")  # fmt: skip
    assert [r.error for r in run_import(app, path)] == [None]
    book = load_workbook(io.BytesIO(written(report_of(app, None), "xlsx")))
    cell = book["Actions"]["C2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("https://evil.example","Update")'


def test_the_console_plan_name_only_names_an_untitled_plan(app: App, tmp_path: Path) -> None:
    untitled = GOOD.split(b"\n", 1)[1].replace(b"1.1", b"7.1").replace(b"1.2", b"7.2")
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("titled.csv", GOOD), ("untitled.csv", untitled),
                         plan="Rapid Review E tracker")  # fmt: skip
        assert confirm(client, preview).status_code == 303
    plans = {(a["plan"], a["ref"]) for a in records(app, "actions")}
    assert plans == {(TITLE, "1.1"), (TITLE, "1.2"), ("Rapid Review E tracker", "7.1"),
                     ("Rapid Review E tracker", "7.2")}  # fmt: skip


def test_an_oversized_upload_is_refused_and_never_kept(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        big = Received("big.txt", b"x" * 5_300_000)
        preview = upload(client, (big.name, big.data))
        assert "too large" in preview.text
        assert client.get(PAGE).status_code == 200
    kept = app.settings.imports_dir
    assert not (kept / big.sha256).exists()
