"""The CAP report written as a file: Word (.docx), Excel (.xlsx) or a web page (.html),
each opening in Word, Excel, LibreOffice or a browser, under a name that carries the plan's
title and the report's date. Status is always written as a word; colour only repeats it.
Word pages are A4 landscape (the theme tables are wide); Excel's target dates are date
cells, so the sheet sorts and filters by date."""

from __future__ import annotations

import io
import re
from datetime import date

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from worker.reports.cap import STATUSES, CapReport, Line
from worker.templating import long_date, render_html

FORMATS = {  # format: media type
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
COLUMNS = ("Ref", "Action", "Lead agency", "Target date", "Status", "Stage", "Progress")
STATUS_AT = COLUMNS.index("Status")
TARGET_AT = COLUMNS.index("Target date")
DATE_FORMAT = "d mmmm yyyy"  # Excel's number format: 30 June 2027, as the other formats say
# Characters no file name may hold on Windows, macOS or Linux, and control characters.
UNSAFE_IN_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
TITLE_IN_NAME = 100  # characters of the plan's title kept in a file name
COLOURS = {"Overdue": "B10E1E", "Due soon": "8A4500", "On track": "0B3D6E", "Complete": "00703C"}
FILLS = {"Overdue": "FDECEA", "Due soon": "FFF4E5", "On track": "EAF1F8", "Complete": "E8F1E9"}


def written(report: CapReport, form: str) -> bytes:
    """The report as a file of `form` (docx, xlsx or html)."""
    if form == "docx":
        return docx(report)
    if form == "xlsx":
        return xlsx(report)
    return render_html("reports/cap.html", report=report, statuses=STATUSES,
                       columns=headings(report), rows=cells).encode()  # fmt: skip


def file_name(report: CapReport, form: str) -> str:
    """The report's file name: the plan's title (made safe for any file system) and the date
    the report is as at, e.g. "Composite Action Plan 2016 - CAP report - 2026-12-07.xlsx"."""
    title = UNSAFE_IN_NAMES.sub("_", " ".join(report.title.split()))[:TITLE_IN_NAME]
    return f"{title.strip(' .') or 'Plan'} - CAP report - {report.on.isoformat()}.{form}"


def headings(report: CapReport) -> tuple[str, ...]:
    return (*COLUMNS, "Tracker's RAG") if report.has_rag else COLUMNS


def cells(report: CapReport, line: Line) -> list[str]:
    values = [line.ref, line.text, line.lead_agency, line.target, line.status, line.stage,
              line.progress]  # fmt: skip
    return [*values, line.rag] if report.has_rag else values


def summary_rows(report: CapReport) -> list[list[str]]:
    rows = [[t.name, *(str(t.count(s)) for s in STATUSES)] for t in report.themes]
    return [*rows, ["All themes", *(str(report.total(s)) for s in STATUSES)]]


def as_at(report: CapReport) -> str:
    return f"Progress as at {long_date(report.on.isoformat())}."


def docx(report: CapReport) -> bytes:
    document = Document()
    a4_landscape(document)
    document.add_heading(report.title, level=0)
    document.add_paragraph(as_at(report))
    document.add_heading("Summary: actions by status and theme", level=1)
    word_table(document, ["Theme", *STATUSES], summary_rows(report))
    for theme in report.themes:
        document.add_heading(theme.name, level=1)
        rows = [cells(report, line) for line in theme.lines]
        made = word_table(document, list(headings(report)), rows)
        for row, line in zip(made.rows[1:], theme.lines, strict=True):
            run = row.cells[STATUS_AT].paragraphs[0].runs[0]
            run.bold = True
            run.font.color.rgb = RGBColor.from_string(COLOURS[line.status])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def a4_landscape(document: WordDocument) -> None:
    """Pages of A4 turned landscape, for tables of seven or eight columns, with 20 mm margins;
    set before any table is added, as a table takes its width from the page."""
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin = section.right_margin = Mm(20)


def word_table(document: WordDocument, header: list[str], rows: list[list[str]]) -> Table:
    made: Table = document.add_table(rows=1, cols=len(header))
    made.style = "Table Grid"
    for cell, text in zip(made.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for values in rows:
        for cell, text in zip(made.add_row().cells, values, strict=True):  # type: ignore[no-untyped-call]
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.font.size = Pt(9)
    return made


def xlsx(report: CapReport) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary_sheet(summary, report)
    actions_sheet(book.create_sheet("Actions"), report)
    for sheet, widths in ((summary, (48, 12, 12, 12, 12)),
                          (book["Actions"], (40, 8, 60, 24, 18, 12, 28, 60, 16))):  # fmt: skip
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[chr(64 + index)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def summary_sheet(summary: Worksheet, report: CapReport) -> None:
    """The title, the date and each theme's count of each status."""
    summary.title = "Summary"
    as_text(summary, [report.title])
    as_text(summary, [as_at(report)])
    summary.append([])
    bold_row(summary, ["Theme", *STATUSES])
    for row in summary_rows(report):
        summary.append([row[0], *(int(n) for n in row[1:])])
        summary.cell(row=summary.max_row, column=1).data_type = "s"


def actions_sheet(actions: Worksheet, report: CapReport) -> None:
    """One row per action under its theme, filterable: words as text, target dates as dates."""
    bold_row(actions, ["Theme", *headings(report)])
    for theme in report.themes:
        for line in theme.lines:
            as_text(actions, [theme.name, *cells(report, line)])
            as_date(actions.cell(row=actions.max_row, column=TARGET_AT + 2), line.due)
            status = actions.cell(row=actions.max_row, column=STATUS_AT + 2)
            status.font = Font(bold=True, color=COLOURS[line.status])
            status.fill = PatternFill("solid", fgColor=FILLS[line.status])
    actions.freeze_panes = "A2"
    actions.auto_filter.ref = actions.dimensions


def as_date(cell: Cell | MergedCell, due: date | None) -> None:
    """A target date as Excel's own date, shown the UK way; "Ongoing" or "TBC" stay text."""
    if due is not None:
        cell.value = due
        cell.number_format = DATE_FORMAT


def as_text(sheet: Worksheet, values: list[str]) -> None:
    """A row of text, each cell text even when it starts with "=": openpyxl would otherwise
    store it as a formula, and a plan's words must never run in the reader's Excel."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def bold_row(sheet: Worksheet, values: list[str]) -> None:
    as_text(sheet, values)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
