"""Action plans as other partnerships write them: their own headings, references, leads,
dates and status keys, in text, Word and Excel. Each plan here was written for the tests."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import Workbook
from sqlalchemy import select

from tests.support.helpers import records, run_import
from worker.app import App
from worker.cli import main
from worker.importers import Received, document_tables
from worker.importers.column_map import Table, TableMap
from worker.importers.column_map import save as save_column_map
from worker.models import ActionLead, Agency, SavedColumnMap

Lines = list[str | list[str]]  # a one-cell line (a title, a heading, a key), or a table row

COMMITTEE: Lines = [
    "Safeguarding Children Board Serious Case Review action plan",
    ["No.", "Recommendation", "Responsibility", "Date", "Progress presented to Committee",
     "Assessment of progress"],
    ["1.", "Review the escalation policy with every agency", "Chair / DCS", "April 2017",
     "Policy agreed at the Board", "1"],
    ["2.", "Audit the strategy discussions held out of hours", "Assistant Director, Safeguarding"
     " and Family Support", "To be confirmed in the autumn", "Audit scoped", "2"],
    ["3.", "Train front-line staff in professional curiosity", "Health", "Ongoing",
     "Two sessions held", "3"],
    "1 Fully Achieved",
    "2 On track",
    "3 Requiring action/attention",
]  # fmt: skip

IMPROVEMENT: Lines = [
    "Children's Trust improvement plan action tracker 2018",
    ["No.", "Area for Improvement", "Lead", "Action", "By When", "Progress", "R/A/G",
     "Monitoring and Evaluation"],
    ["A1", "Early help", "KA", "Publish the early help offer", "Sept 2018", "Published", "Complete",
     "Audit"],
    ["A2", "Early help", "AP/CJ", "Survey families on the offer", "31.03.19", "", "A", "Survey"],
    ["B1", "Neglect", "Police", "Use the neglect tool in every referral", "April – June 2019",
     "Started", "G", "Dip sample"],
]  # fmt: skip

SECTIONS: Lines = [
    "Local Safeguarding Partnership action plan 2019",
    "1. Update on the data and the dashboard",
    ["Action", "Lead Officer", "Timescale", "Progress update", "Status"],
    ["Add the missing children figures", "Head of Performance", "By end of June 2019", "Done",
     "Complete"],
    ["Show the figures by district", "Head of Performance", "31/07/2019", "", "Red"],
    "2. Training",
    ["Action", "Lead Officer", "Timescale", "Progress update", "Status"],
    ["Refresh the multi-agency training offer", "Training Manager", "Jan to Mar 2020", "",
     "Amber"],
]  # fmt: skip


def as_text(path: Path, lines: Lines) -> Path:
    rows = [line if isinstance(line, str) else "\t".join(line) for line in lines]
    path.with_suffix(".txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path.with_suffix(".txt")


def as_word(path: Path, lines: Lines) -> Path:
    document = Document()
    table: Any = None
    for line in lines:
        if isinstance(line, str):
            document.add_paragraph(line)
            table = None
            continue
        if table is None:
            table = document.add_table(rows=0, cols=len(line))
        for cell, text in zip(table.add_row().cells, line, strict=True):
            cell.text = text
    document.save(str(path.with_suffix(".docx")))
    return path.with_suffix(".docx")


def as_excel(path: Path, lines: Lines) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in lines:
        sheet.append([line] if isinstance(line, str) else line)
    book.save(path.with_suffix(".xlsx"))
    return path.with_suffix(".xlsx")


FORMATS: dict[str, Callable[[Path, Lines], Path]] = {
    "text": as_text, "word": as_word, "excel": as_excel,
}  # fmt: skip


def imported(app: App, tmp_path: Path, lines: Lines, form: str) -> dict[str, dict[str, Any]]:
    [result] = run_import(app, FORMATS[form](tmp_path / "plan", lines))
    assert result.error is None, result.error
    return {action["ref"]: action for action in records(app, "actions")}


@pytest.mark.parametrize("form", FORMATS)
def test_a_committee_plan_with_numbered_refs_roles_and_a_status_key(
    app: App, tmp_path: Path, form: str
) -> None:
    actions = imported(app, tmp_path, COMMITTEE, form)
    assert sorted(actions) == ["1", "2", "3"]
    one, two, three = actions["1"], actions["2"], actions["3"]
    assert (one["target_date"], one["status"]) == ("2017-04-30", "complete")  # 1 Fully Achieved
    assert one["lead_agencies"] == ["Chair", "DCS"]  # people or roles: kept, unassigned
    assert one["unassigned"] is True
    assert two["target_date"] is None  # to be confirmed: a date the business manager sets
    # a role of the directory's, then its portfolio: that contact's agency
    assert two["lead_agencies"] == ["Assistant Director, Safeguarding and Family Support"]
    assert two["unassigned"] is False
    assert (two["status"], three["status"]) == ("open", "open")
    assert three["lead_agencies"] == ["Health"]
    assert three["unassigned"] is False
    assert three["target_date"] is None  # Ongoing
    assert one["progress"] == "Policy agreed at the Board"


@pytest.mark.parametrize("form", FORMATS)
def test_an_improvement_plan_with_lettered_refs_initials_and_date_ranges(
    app: App, tmp_path: Path, form: str
) -> None:
    actions = imported(app, tmp_path, IMPROVEMENT, form)
    assert sorted(actions) == ["A1", "A2", "B1"]
    assert actions["A1"]["action"] == "Publish the early help offer"
    assert [actions[r]["target_date"] for r in ("A1", "A2", "B1")] == [
        "2018-09-30", "2019-03-31", "2019-06-30",
    ]  # fmt: skip
    assert [actions[r]["status"] for r in ("A1", "A2", "B1")] == ["complete", "open", "open"]
    assert actions["A2"]["lead_agencies"] == ["AP", "CJ"]  # nobody's initials: unassigned
    assert actions["A2"]["unassigned"] is True
    assert actions["B1"]["lead_agencies"] == ["Police"]


@pytest.mark.parametrize("form", FORMATS)
def test_a_plan_of_numbered_sections_without_refs_numbers_its_rows(
    app: App, tmp_path: Path, form: str
) -> None:
    actions = imported(app, tmp_path, SECTIONS, form)
    assert sorted(actions) == ["1.1", "1.2", "2.1"]
    assert actions["1.1"]["theme"] == "1. Update on the data and the dashboard"
    assert actions["2.1"]["theme"] == "2. Training"
    assert [actions[r]["target_date"] for r in ("1.1", "1.2", "2.1")] == [
        "2019-06-30", "2019-07-31", "2020-03-31",
    ]  # fmt: skip
    assert actions["1.1"]["status"] == "complete"


def test_the_same_plan_imported_again_changes_nothing(app: App, tmp_path: Path) -> None:
    first = imported(app, tmp_path, SECTIONS, "text")
    [again] = run_import(app, as_text(tmp_path / "plan", SECTIONS))
    assert again.error is None, again.error
    assert {a["ref"]: a for a in records(app, "actions")} == first
    assert [(o.created, o.updated, o.unchanged) for o in again.outcomes] == [(0, 0, 3)]


def test_a_plan_naming_the_directory_themes_still_refuses_a_misspelt_one(
    app: App, tmp_path: Path
) -> None:
    lines: Lines = [
        "Serious Case Review Composite Action Plan 2027",
        "Professional curiosity\t",  # a heading row, as the text form writes one
        ["Ref", "Action", "Lead agency", "Target date"],
        ["1.1", "Audit the referrals", "Health", "01/06/2027"],
        "Profesional curiosity\t",
        ["Ref", "Action", "Lead agency", "Target date"],
        ["1.2", "Audit the strategy meetings", "Police", "01/07/2027"],
    ]
    [result] = run_import(app, as_text(tmp_path / "plan", lines))
    assert result.error is not None
    assert "unknown theme" in str(result.error)
    assert "Profesional curiosity" in str(result.error)
    assert records(app, "actions") == []


def test_date_ranges_and_words_before_a_date_read_as_their_end() -> None:
    from worker.importers.target_dates import date_to_set, target_date

    assert target_date("April – June 2019", 1) == date(2019, 6, 30)
    assert target_date("April 2019 - June 2019", 1) == date(2019, 6, 30)
    assert target_date("Jan to Mar 2020", 1) == date(2020, 3, 31)
    assert target_date("By April 2017", 1) == date(2017, 4, 30)
    assert target_date("no later than 01/06/17", 1) == date(2017, 6, 1)
    assert target_date("Jun-19", 1) == date(2019, 6, 30)  # a month, not a range
    assert date_to_set("To be confirmed in the autumn") == "TBC"
    assert date_to_set("TBCX") == ""


def test_leads_that_are_people_are_their_agency_and_initials_only_when_one_has_them(
    app: App, tmp_path: Path
) -> None:
    lines: Lines = [
        "Rapid Review action tracker 2027",
        ["No.", "Action", "Lead", "By When"],
        ["1", "Audit the referrals", "MTL", "June 2027"],  # MASH Team Leader alone
        ["2", "Audit the strategy meetings", "Detective Sergeant", "June 2027"],
        ["3", "Audit the health visits", "PL", "June 2027"],  # Practice and Partnership Lead
        ["4", "Audit the school referrals", "Mtl", "June 2027"],  # initials are capitals
    ]
    actions = imported(app, tmp_path, lines, "text")
    with app.sessions() as session:
        names = {a.id: a.name for a in session.scalars(select(Agency))}
        leads = {r.name: names.get(r.agency_id or 0) for r in session.scalars(select(ActionLead))}
    assert leads == {"MTL": "MASH", "Detective Sergeant": "Police", "PL": None, "Mtl": None}
    assert [actions[r]["unassigned"] for r in "1234"] == [False, False, True, True]


ACTION_LOG: Lines = [
    "Board action log 2027",
    ["Date of Meeting", "Action Point", "Lead", "Progress Update"],
    ["12/01/2027", "Circulate the neglect toolkit", "Health", "Sent to GPs"],
    ["12/01/2027", "Brief the heads' forum", "Education", ""],
]
ACTION_LOG_MAP = """\
# The board's action log: no references, no target dates.
text: Action Point
lead_agency: Lead
progress: Progress Update
target_date: none
ref: none
"""


def import_command(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["import", *args])
    return result.exit_code, result.output


def test_a_plan_whose_headings_nobody_named_imports_with_a_column_map(
    app: App, tmp_path: Path
) -> None:
    plan = as_excel(tmp_path / "log", ACTION_LOG)
    code, output = import_command(str(plan))
    assert code == 1
    assert "neither a Composite Action Plan" in output
    assert records(app, "actions") == []
    column_map = tmp_path / "log-columns.yaml"
    column_map.write_text(ACTION_LOG_MAP, encoding="utf-8")
    code, output = import_command(str(plan), "--columns", str(column_map))
    assert code == 0, output
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert sorted(actions) == ["1", "2"]
    assert actions["1"]["action"] == "Circulate the neglect toolkit"
    assert (actions["1"]["target_date"], actions["1"]["progress"]) == (None, "Sent to GPs")
    assert actions["2"]["lead_agencies"] == ["Education"]
    assert actions["2"]["unassigned"] is False


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("text: Action Point\n", "lead_agency"),  # required
        ("text: Action Point\nlead_agency: Lead\nowner: Lead\n", "owner"),  # no such field
        ("text: '--'\nlead_agency: Lead\n", "text"),  # no letters at all
    ],
)
def test_a_broken_column_map_is_refused_by_its_key_and_imports_nothing(
    app: App, tmp_path: Path, text: str, named: str
) -> None:
    column_map = tmp_path / "map.yaml"
    column_map.write_text(text, encoding="utf-8")
    code, output = import_command(str(as_text(tmp_path / "log", ACTION_LOG)), "--columns",
                                  str(column_map))  # fmt: skip
    assert code == 1
    assert named in output
    assert "map.yaml" in output
    assert records(app, "actions") == []


def test_rows_under_sections_without_numbers_go_on_counting(app: App, tmp_path: Path) -> None:
    lines: Lines = [
        "Partnership improvement plan 2027",
        "Training\t",
        ["Action", "Lead", "By When"],
        ["Refresh the training offer", "Health", "June 2027"],
        "Audit\t",
        ["Action", "Lead", "By When"],
        ["Audit the referrals", "Police", "July 2027"],
        ["Audit the strategy meetings", "Police", "July 2027"],
    ]
    actions = imported(app, tmp_path, lines, "text")
    assert {ref: a["theme"] for ref, a in actions.items()} == {
        "1": "Training", "2": "Audit", "3": "Audit",
    }  # fmt: skip


def as_csv(path: Path, lines: Lines) -> Path:
    with path.with_suffix(".csv").open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([line] if isinstance(line, str) else line for line in lines)
    return path.with_suffix(".csv")


@pytest.mark.parametrize("form", [*FORMATS, "csv"])
def test_a_table_nobody_named_is_offered_and_read_with_the_columns_chosen(
    app: App, tmp_path: Path, form: str
) -> None:
    path = (as_csv if form == "csv" else FORMATS[form])(tmp_path / "log", ACTION_LOG)
    document = Received(path.name, path.read_bytes())
    importer = app.importer("bm@example.org")
    [table] = document_tables(document, importer.options)
    assert table.headings == tuple(ACTION_LOG[1])
    assert table.rows == (tuple(ACTION_LOG[2]), tuple(ACTION_LOG[3]))
    assert table.guessed() == {"text": "1", "lead_agency": "2", "progress": "3"}
    chosen = TableMap.picked(table, table.guessed() | {"ref": "none", "target_date": "none"})
    result = importer.read_by(chosen).one(document)
    assert result.error is None, result.error
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert [actions[r]["action"] for r in "12"] == [row[1] for row in ACTION_LOG[2:]]
    assert [actions[r]["lead_agencies"] for r in "12"] == [["Health"], ["Education"]]
    assert app.import_options().saved[0].row == table.row  # saved with the import


def test_a_map_saved_again_for_its_row_replaces_the_first(app: App) -> None:
    table = Table(tuple(ACTION_LOG[1]), ())
    first = TableMap.picked(table, {"text": "1", "lead_agency": "2"})
    second = TableMap.picked(table, {"text": "1", "lead_agency": "2", "progress": "3"})
    for chosen, by in ((first, "one@example.org"), (second, "two@example.org")):
        with app.sessions() as session, session.begin():
            save_column_map(session, chosen, by, datetime.now(UTC))
    with app.sessions() as session:
        [row] = session.scalars(select(SavedColumnMap))
    assert (row.saved_by, row.fields["progress"]) == ("two@example.org", "Progress Update")
