"""Composite Action Plans in Word (.docx), made here with python-docx: read as the text form
is, every refusal naming the table and row a reader finds in Word."""

from __future__ import annotations

import zipfile
from pathlib import Path

from docx import Document

from tests.support.helpers import records, run_import
from worker.app import App

HEADER = ["Ref", "SCR Ref", "Action", "Lead agency", "Target date", "Progress"]


def plan(path: Path, rows_by_theme: dict[str, list[list[str]]], theme_in_table: bool = False
         ) -> Path:  # fmt: skip
    document = Document()
    document.add_heading("Serious Case Review Composite Action Plan 2026", level=1)
    document.add_paragraph("Agreed by the partnership's monitoring sub-group.")
    for theme, rows in rows_by_theme.items():
        if not theme_in_table:
            document.add_heading(theme, level=2)
        table = document.add_table(rows=0, cols=len(HEADER))
        if theme_in_table:
            first = table.add_row().cells
            first[0].merge(first[-1]).text = theme  # one cell across the table
        for cells in [HEADER, *rows]:
            row = table.add_row().cells
            for cell, text in zip(row, cells, strict=True):
                parts = text.split("\n")
                cell.text = parts[0]
                for more in parts[1:]:
                    cell.add_paragraph(more)  # a cell of several paragraphs
    document.save(str(path))
    return path


ROWS = {
    "Professional curiosity": [
        ["1.1", "A", "Audit the referrals\nand report to the board", "Health", "June 2027", ""],
        ["", "", "(continued from the page before)", "", "", "Started"],
        ["1.2", "B", "Train the front door", "Police", "Q2 2027/28", ""],
    ],
    "Fora for discussion and information-sharing": [
        ["2.1", "A, B", "Share the learning", "Education", "01/03/2027", "Complete"],
    ],
}


def test_a_word_plan_imports_as_its_text_form_would(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, plan(tmp_path / "plan.docx", ROWS))
    assert result.error is None, result.error
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert actions["1.1"]["action"] == (
        "Audit the referrals and report to the board (continued from the page before)"
    )
    assert actions["1.1"]["theme"] == "Professional curiosity"
    assert actions["1.1"]["target_date"] == "2027-06-30"
    assert actions["1.1"]["progress"] == "Started"
    assert actions["1.2"]["target_date"] == "2027-09-30"
    assert actions["2.1"]["theme"] == "Fora for discussion and information-sharing"
    assert actions["2.1"]["status"] == "complete"
    assert actions["2.1"]["scr_refs"] == ["A", "B"]


def test_a_theme_row_merged_across_the_table_is_read_once(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, plan(tmp_path / "merged.docx", ROWS, theme_in_table=True))
    assert result.error is None, result.error
    assert {a["ref"] for a in records(app, "actions")} == {"1.1", "1.2", "2.1"}


def test_a_refusal_names_the_table_and_row(app: App, tmp_path: Path) -> None:
    vague = {"Professional curiosity": [["1.1", "A", "Audit", "Health", "Spring 2027", ""]]}
    [result] = run_import(app, plan(tmp_path / "vague.docx", vague))
    assert result.error is not None
    said = str(result.error)
    assert said.startswith(f"{tmp_path / 'vague.docx'}, table 1, row 2: Target date: too vague")
    assert "'Spring 2027'" in said
    assert records(app, "actions") == []


def test_a_broken_word_document_is_refused_and_the_one_beside_it_imports(
    app: App, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>not closed")
    good = plan(tmp_path / "plan.docx", ROWS)
    refused, imported = run_import(app, broken, good)
    assert refused.error is not None
    assert "a Word document that cannot be read" in str(refused.error)
    assert imported.error is None
    assert len(records(app, "actions")) == 3
