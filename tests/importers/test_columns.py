"""Column headings as plans write them (the synonyms map), a Theme and a RAG column in any
format, and target dates still to be set (TBC, TBA)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document

from tests.support.helpers import records, run_import
from worker.app import App
from worker.importers.cap import NO_THEME
from worker.importers.columns import DEFAULT_COLUMNS, Columns, folded, merged_names
from worker.settings import load_settings
from worker.yaml_files import ConfigError

PLAN_TITLE = "Composite Action Plan of the review group"


@pytest.mark.parametrize(
    ("headings", "field"),
    [
        (["No.", "Action no.", "ACTION NUMBER"], "ref"),
        (["SCR", "Review", "Case", "scr-ref"], "scr_refs"),
        (["Recommendation", "Action required"], "text"),
        (["Lead", "Lead Agency/Officer", "Owner", "Responsible", "lead  agency"], "lead_agency"),
        (["Target", "Due date", "Deadline", "By when", "Timescale"], "target_date"),
        (["Progress update", "Update", "Comments"], "progress"),
        (["RAG", "Status", "R.A.G. status"], "rag"),
    ],
)
def test_each_default_heading_names_its_field(headings: list[str], field: str) -> None:
    for heading in headings:
        assert DEFAULT_COLUMNS.fields[folded(heading)] == field, heading


def test_a_header_needs_the_required_fields_and_reads_the_best_named_of_a_pair() -> None:
    cells = ["No.", "Recommendation", "Owner", "Deadline", "Comments", "Progress"]
    assert DEFAULT_COLUMNS.header(cells) == {
        "ref": 0, "text": 1, "lead_agency": 2, "target_date": 3, "progress": 5,
    }  # fmt: skip
    # the action, not the recommendation it answers; "Lead agency" before "Lead"; a note aside
    cells = ["Ref", "Recommendation", "Action", "Lead", "Lead agency", "Target date (dd/mm/yy)",
             "Assessment of progress (1–4)"]  # fmt: skip
    assert DEFAULT_COLUMNS.header(cells) == {
        "ref": 0, "text": 2, "lead_agency": 4, "target_date": 5, "rag": 6,
    }  # fmt: skip
    assert DEFAULT_COLUMNS.header(["Ref", "Action", "Owner"]) is None  # no target date


def test_the_settings_replace_a_fields_headings_and_refuse_a_clash(tmp_path: Path) -> None:
    names = merged_names({"ref": ["Item"]})
    assert names["ref"] == ("Item",)
    assert names["text"] == merged_names({})["text"]
    with pytest.raises(ValueError, match="heading of both"):
        merged_names({"progress": ["Owner"]})
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        merged_names({"colour": ["RAG"]})
    file = tmp_path / "settings.yaml"
    file.write_text("column_names:\n  ref: [Item]\n  progress: [Lead]\n")
    with pytest.raises(ConfigError, match="column_names"):
        load_settings(file)


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_spreadsheet_csv_with_its_own_headings_imports(app: App, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "tracker.csv", [
        PLAN_TITLE,
        "Theme,No.,Case,Recommendation,Owner,Deadline,R.A.G.,Comments",
        'Professional curiosity,1.1,A1,"Audit the referrals, twice",Health,end of June 2027,'
        "Amber,Audit booked",
        "Professional curiosity,1.2,A1,Train the front door,Police,TBC,Red,",
        "Ownership and accountability: management grip,2.1,LCSPR Child D,Report to the "
        "board,NSCB,Q4 2027/28,Complete,Reported in March",
    ])  # fmt: skip
    [result] = run_import(app, file)
    assert result.error is None, result.error
    assert result.kind == "action plan (CSV)"
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert actions["1.1"]["plan"] == PLAN_TITLE
    assert actions["1.1"]["action"] == "Audit the referrals, twice"
    assert actions["1.1"]["target_date"] == "2027-06-30"
    assert (actions["1.1"]["rag"], actions["1.1"]["status"]) == ("Amber", "open")
    assert actions["1.2"]["target_date"] is None
    assert actions["1.2"]["date_to_set"] == "TBC"
    assert actions["2.1"]["theme"] == "Ownership and accountability: management grip"
    assert actions["2.1"]["scr_refs"] == ["LCSPR Child D"]
    assert actions["2.1"]["target_date"] == "2028-03-31"
    assert (actions["2.1"]["rag"], actions["2.1"]["status"]) == ("Complete", "complete")


def test_headings_of_the_partnerships_own_come_from_the_settings(app: App, tmp_path: Path) -> None:
    lines = [
        PLAN_TITLE,
        "Theme,Action ID,Case,Action,Lead agency,Target date",
        "Professional curiosity,1.1,A1,Audit the referrals,Health,01/06/2027",
    ]
    [refused] = run_import(app, write_csv(tmp_path / "a.csv", lines))
    assert refused.error is not None  # "Action ID" names no field by default
    app.settings.column_names = merged_names({"ref": ["Action ID"]})
    [result] = run_import(app, write_csv(tmp_path / "b.csv", lines))
    assert result.error is None, result.error
    assert [a["ref"] for a in records(app, "actions")] == ["1.1"]


def test_a_word_table_with_a_theme_column_and_tba_dates(app: App, tmp_path: Path) -> None:
    document = Document()
    document.add_heading(PLAN_TITLE, level=1)
    document.add_paragraph("Actions")  # the paragraph before the table is no theme here
    rows = [
        ["Ref", "Theme", "Review", "Action required", "Responsible", "By when", "Status"],
        ["1.1", "Professional curiosity", "Rapid Review E", "Audit", "Health", "TBA", "Amber"],
        ["", "", "", "the referrals", "", "", ""],
        ["3.1", "Collaborative working, decision-making and planning", "E", "Plan jointly",
         "Police", "1st June 2027", "Completed"],
    ]  # fmt: skip
    table = document.add_table(rows=0, cols=len(rows[0]))
    for cells in rows:
        for cell, text in zip(table.add_row().cells, cells, strict=True):
            cell.text = text
    path = tmp_path / "plan.docx"
    document.save(str(path))
    [result] = run_import(app, path)
    assert result.error is None, result.error
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert actions["1.1"]["action"] == "Audit the referrals"  # the continuation joined
    assert actions["1.1"]["rag"] == "Amber"  # not "Amber" twice: RAG is read once
    assert (actions["1.1"]["date_to_set"], actions["1.1"]["target_date"]) == ("TBA", None)
    assert actions["3.1"]["theme"] == "Collaborative working, decision-making and planning"
    assert actions["3.1"]["status"] == "complete"


def test_an_unknown_theme_in_the_theme_column_names_the_cell(app: App, tmp_path: Path) -> None:
    lines = [
        PLAN_TITLE,
        "Theme,Ref,Action,Lead agency,Target date",
        "Professional curiosity,1.1,Audit,Health,01/06/2027",
        "Workforce wellbeing,1.2,Train,Police,01/06/2027",
    ]
    [result] = run_import(app, write_csv(tmp_path / "plan.csv", lines))
    assert result.error is not None
    assert (result.error.line, result.error.field) == (4, "Theme")
    assert result.error.value == "Workforce wellbeing"
    assert records(app, "actions") == []  # nothing of the document stored


def test_columns_of_a_partnership_are_matched_ignoring_punctuation() -> None:
    columns = Columns.of(merged_names({"lead_agency": ["Lead Agency/Officer"]}))
    header = columns.header(["REF", "Action", "lead agency - officer", "Target Date"])
    assert header == {"ref": 0, "text": 1, "lead_agency": 2, "target_date": 3}


@pytest.mark.parametrize(
    "title",
    ["LCSPR Child D action plan", "Rapid Review E: action tracker 2027",
     "Serious Case Review Composite Action Plan January 2027"],
)  # fmt: skip
def test_plans_of_every_kind_of_review_are_titled(app: App, tmp_path: Path, title: str) -> None:
    file = write_csv(tmp_path / "plan.csv", [
        title, "Ref,Review,Action,Lead agency,Target date",
        "1.1,LCSPR Child D,Audit the referrals,Health,01/06/2027",
    ])  # fmt: skip
    [result] = run_import(app, file)
    assert result.error is None, result.error  # naming no theme: another partnership's plan
    assert [a["theme"] for a in records(app, "actions")] == [NO_THEME]
    themed = write_csv(tmp_path / "themed.csv", [
        title, "Professional curiosity", "Ref,Review,Action,Lead agency,Target date",
        "1.1,LCSPR Child D,Audit the referrals,Health,01/06/2027",
    ])  # fmt: skip
    [result] = run_import(app, themed)
    assert result.error is None, result.error
    [action] = records(app, "actions")
    assert (action["plan"], action["scr_refs"]) == (title, ["LCSPR Child D"])
