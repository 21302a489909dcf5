"""Excel trackers (.xlsx), made here with openpyxl: title rows above the header, real date
cells, a Theme column, a RAG/Status column; refusals name the sheet and row."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from tests.support.helpers import records, run_import
from worker.app import App

HEADER = ["Theme", "Ref", "SCR Ref", "Action", "Lead agency", "Target date", "RAG", "Progress"]
ROWS: list[list[object]] = [
    ["Professional curiosity", "1.1", "A", "Audit the referrals", "Health",
     datetime(2027, 6, 1), "Amber", "Audit booked"],
    ["Professional curiosity", "1.2", "B", "Train the front door", "Police", "Jun-27", "Green",
     None],
    ["Fora for discussion and information-sharing", "2.1", "A", "Share the learning",
     "Education", "Q3 2027/28", "Completed", "Shared at the conference"],
]  # fmt: skip


def tracker(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append(["Serious Case Review Composite Action Plan tracker 2027"])
    sheet.append(["Updated monthly by the business manager"])
    sheet.append([])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(str(path))
    return path


def test_an_excel_tracker_imports_as_the_text_form_would(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, tracker(tmp_path / "tracker.xlsx", ROWS))
    assert result.error is None, result.error
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert actions["1.1"]["target_date"] == "2027-06-01"  # a real date cell
    assert actions["1.1"]["theme"] == "Professional curiosity"
    assert actions["1.1"]["progress"] == "Audit booked"
    assert actions["1.2"]["target_date"] == "2027-06-30"
    assert actions["2.1"]["theme"] == "Fora for discussion and information-sharing"
    assert actions["2.1"]["target_date"] == "2027-12-31"
    assert actions["2.1"]["status"] == "complete"  # the RAG column said Completed
    assert actions["2.1"]["progress"] == "Shared at the conference"
    assert actions["2.1"]["rag"] == "Completed"  # kept as the tracker wrote it
    assert actions["1.2"]["status"] == "open"


def test_a_refusal_names_the_sheet_and_row(app: App, tmp_path: Path) -> None:
    bad = [[*ROWS[0][:5], "Spring 2027", "Red", ""]]
    [result] = run_import(app, tracker(tmp_path / "bad.xlsx", bad))
    assert result.error is not None
    assert f"{tmp_path / 'bad.xlsx'}, sheet Actions, row 5: Target date: too vague" in str(
        result.error
    )
    assert records(app, "actions") == []


def test_a_workbook_named_as_text_is_still_read_as_a_workbook(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, tracker(tmp_path / "tracker.txt", ROWS))
    assert result.error is None, result.error
    assert len(records(app, "actions")) == 3
