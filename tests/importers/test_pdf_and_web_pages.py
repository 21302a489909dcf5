"""PDF documents (made here with reportlab) and pages saved from the schools portal (.html):
read by the same parsers as text, known by their content whatever their names."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from tests.support.helpers import records, run_import
from worker.app import App

STYLES = getSampleStyleSheet()
HEADER = ["Ref", "SCR Ref", "Action", "Lead agency", "Target date", "Progress"]
SHEET_FIELDS = [
    "MI Sheet Type: CPD",
    "To Be Completed By: 02/12/2026",
    "MI Number: 14/26",
    "Publication Date: 01/11/2026 09:30:00",
    "LA Contact: Sam Jones (01632 960111)",
    "Audience: All Staff",
]
SESSIONS = [
    ["Date", "Time", "Venue", "Reference"],
    ["Monday 7 December 2026", "10:00 to 11:30 am", "County Hall, Room 3", "TLS-1226-T001"],
    ["Tuesday 8 December 2026", "2:00 to 3:30pm", "Riverside Centre", "TLS-1226-T002"],
]


def ruled(rows: list[list[str]]) -> Table:
    table = Table(rows)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    return table


def pdf(path: Path, story: list[Flowable]) -> Path:
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def test_a_plan_in_pdf_with_its_table_broken_across_pages(app: App, tmp_path: Path) -> None:
    rows = [HEADER] + [
        [f"1.{i}", "A1", f"Audit the referrals of team {i}", "Health", "June 2027", ""]
        for i in range(1, 41)
    ]
    rows.append(["", "", "(and report to the board)", "", "", "Started"])
    story: list[Flowable] = [
        Paragraph("Composite Action Plan of the review group", STYLES["Title"]),
        Paragraph("Professional curiosity", STYLES["Heading2"]),
        ruled(rows),
    ]
    [result] = run_import(app, pdf(tmp_path / "plan.pdf", story))
    assert result.error is None, result.error
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert len(actions) == 40  # rows from both pages
    assert actions["1.40"]["action"] == "Audit the referrals of team 40 (and report to the board)"
    assert actions["1.40"]["progress"] == "Started"
    assert actions["1.1"]["theme"] == "Professional curiosity"
    assert actions["1.1"]["target_date"] == "2027-06-30"
    assert actions["1.1"]["plan"] == "Composite Action Plan of the review group"


def test_an_mi_sheet_in_pdf_with_its_sessions_table(app: App, tmp_path: Path) -> None:
    story: list[Flowable] = [
        Paragraph("Management Information Sheet", STYLES["Title"]),
        Paragraph("Safeguarding update for schools", STYLES["Heading2"]),
        *(Paragraph(field, STYLES["Normal"]) for field in SHEET_FIELDS),
        Paragraph("Please book a place on one of these sessions.", STYLES["Normal"]),
        ruled(SESSIONS),
    ]
    [result] = run_import(app, pdf(tmp_path / "sheet.txt", story))  # named as text
    assert result.error is None, result.error
    [sheet] = records(app, "mi-sheets")
    assert (sheet["number"], sheet["type"], sheet["due"]) == ("14/26", "CPD", "2026-12-02")
    assert sheet["title"] == "Safeguarding update for schools"
    sessions = {s["reference"]: s for s in records(app, "sessions")}
    assert sessions["TLS-1226-T002"]["venue"] == "Riverside Centre"
    assert sessions["TLS-1226-T002"]["start"].startswith("2026-12-08T14:00")


LIMIT = "Places are free of charge but will be limited to 2 delegates per school/establishment."


def sheet_in_lines(path: Path, *lines: str) -> Path:
    """A PDF MI sheet whose sessions are lines of text under the table's heading, no table."""
    story: list[Flowable] = [
        Paragraph("Management Information Sheet", STYLES["Title"]),
        Paragraph("Safeguarding update for schools", STYLES["Heading2"]),
        *(Paragraph(field, STYLES["Normal"]) for field in [*SHEET_FIELDS, " ".join(SESSIONS[0])]),
        *(Paragraph(line, STYLES["Normal"]) for line in lines),
    ]
    return pdf(path, story)


def test_sessions_written_as_lines_of_text_end_at_the_sentence_under_them(
    app: App, tmp_path: Path
) -> None:
    # Each session a line of text, then the sheet's prose carries on.
    rows = [" ".join(row) for row in SESSIONS[1:]]
    [result] = run_import(app, sheet_in_lines(tmp_path / "sheet.pdf", *rows, LIMIT))
    assert result.error is None, result.error
    [sheet] = records(app, "mi-sheets")
    assert sheet["delegate_limit"] == 2  # the sentence is the sheet's text, not a session
    sessions = {s["reference"]: s for s in records(app, "sessions")}
    assert sorted(sessions) == ["TLS-1226-T001", "TLS-1226-T002"]
    assert sessions["TLS-1226-T001"]["venue"] == "County Hall, Room 3"


def test_a_malformed_session_line_after_good_ones_is_still_refused(
    app: App, tmp_path: Path
) -> None:
    no_time = "Tuesday 8 December 2026 Riverside Centre TLS-1226-T002"
    path = sheet_in_lines(tmp_path / "sheet.pdf", " ".join(SESSIONS[1]), no_time)
    [result] = run_import(app, path)
    assert result.error is not None
    assert result.error.reason == "no time range after the date"
    assert records(app, "mi-sheets") == []


def test_a_pdf_without_text_is_refused_and_the_one_beside_it_imports(
    app: App, tmp_path: Path
) -> None:
    blank = pdf(tmp_path / "scan.pdf", [ruled([[""]])])
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    good = pdf(tmp_path / "good.pdf", [
        Paragraph("Composite Action Plan of the review group", STYLES["Title"]),
        Paragraph("Professional curiosity", STYLES["Heading2"]),
        ruled([HEADER, ["1.1", "A1", "Audit", "Health", "01/06/2027", ""]]),
    ])  # fmt: skip
    scan, bad, fine = run_import(app, blank, broken, good)
    assert scan.error is not None
    assert "no text in it" in str(scan.error)
    assert bad.error is not None
    assert "a PDF document that cannot be read" in str(bad.error)
    assert fine.error is None, fine.error
    assert [a["ref"] for a in records(app, "actions")] == ["1.1"]


PORTAL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>MI sheet 15/26 &ndash; Schools portal</title>
<script>document.write("MI Number: 99/99")</script><style>p { color: red }</style></head>
<body>
<header><a href="/">Schools portal</a></header>
<nav><ul><li>Home</li><li>MI sheets</li></ul></nav>
<main>
  <h1>Management Information Sheet</h1>
  <h2>Safeguarding &amp; online safety: briefing for DSLs</h2>
  <table class="mi-fields">
    <tr><th>MI Sheet Type</th><td>Action</td></tr>
    <tr><th>To Be Completed By</th><td>04/12/2026</td></tr>
    <tr><th>MI Number</th><td>15/26</td></tr>
  </table>
  <dl>
    <dt>Publication Date</dt><dd>02/11/2026 12:00:00</dd>
    <dt>LA Contact</dt><dd>Priya Shah&nbsp;(01632 960222)</dd>
    <dt>Audience</dt><dd>A Senior Member of staff</dd>
  </dl>
  <p>Questions to Priya Shah at
     <a href="mailto:priya.shah@example.org">priya.shah@example.org</a>.</p>
  <table>
    <thead><tr><th>Date</th><th>Time</th><th>Venue</th><th>Course Code</th></tr></thead>
    <tbody>
      <tr><td>Wednesday 9 December 2026</td><td>9.30 to 11.30</td>
          <td>St Mary&#39;s Hall<br>Market Street</td><td>TLS-1226-T010</td></tr>
    </tbody>
  </table>
</main>
<footer>&copy; the partnership</footer>
</body></html>
"""


def test_a_portal_page_imports_as_an_mi_sheet(app: App, tmp_path: Path) -> None:
    page = tmp_path / "mi-15-26.html"
    page.write_text(PORTAL_PAGE, encoding="utf-8")
    [result] = run_import(app, page)
    assert result.error is None, result.error
    [sheet] = records(app, "mi-sheets")
    assert sheet["number"] == "15/26"  # not the script's 99/99
    assert sheet["title"] == "Safeguarding & online safety: briefing for DSLs"  # decoded
    assert (sheet["type"], sheet["due"]) == ("Action", "2026-12-04")
    assert sheet["contact"] == {
        "name": "Priya Shah", "phone": "01632 960222", "email": "priya.shah@example.org",
    }  # fmt: skip
    assert sheet["audience"] == "A Senior Member of staff"
    [session] = records(app, "sessions")
    assert session["venue"] == "St Mary's Hall Market Street"
    assert session["start"].startswith("2026-12-09T09:30")


def test_a_refusal_in_a_portal_page_names_the_table_row(app: App, tmp_path: Path) -> None:
    page = tmp_path / "mi.htm"
    page.write_text(PORTAL_PAGE.replace("9.30 to 11.30", "half past nine"), encoding="utf-8")
    [result] = run_import(app, page)
    assert result.error is not None
    assert result.error.place == "table 2, row 2"
    assert (result.error.field, result.error.value) == ("Time", "half past nine")
    assert records(app, "mi-sheets") == []
