"""Achieved arrives achieved: a plan's own status, read through the key printed with its table
(numbers, or the colour it says is complete) or in the words plans use, completes its rows on
import, in text, Word and Excel; a column no field reads is named in the preview, and a
completion a re-imported plan dates is recorded on that day when nothing on the item's record
comes after it. Each plan here was written for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from tests.importers.test_other_plans import FORMATS, Lines, as_text, imported
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.importers.status import achieved, achieved_on
from worker.models import Action, Obligation, ObligationEvent
from worker.obligations import sync_obligations
from worker.obligations.view import view_of

# An English LSCB's review tracker as published: 2017 dates, its key printed under the table.
TRACKER: Lines = [
    "Safeguarding Children Board serious case review action tracker",
    ["Ref", "Recommendation", "Action", "Lead", "Target date",
     "Progress presented to Committee", "Assessment of progress (1\u20134)"],
    ["1", "Agencies escalate the concerns they disagree with",
     "Review the escalation policy with every agency", "Chair / DCS", "31/03/2017",
     "Policy agreed at the Board", "1"],
    ["2", "Strategy discussions include the police",
     "Audit the strategy discussions held out of hours", "Police", "30/06/2017",
     "Audit scoped; report due in the autumn", "2"],
    ["3", "Front-line staff are professionally curious",
     "Train front-line staff in professional curiosity", "Health", "30/09/2017", "", "4"],
    ["4", "Neglect is recognised early", "Publish the neglect strategy", "Children's Services",
     "31/12/2017", "Published on the Board's website", "1."],
    "Key",
    "1 Fully Achieved",
    "2 Partially achieved",
    "3 Not achieved",
    "4 Not started",
]  # fmt: skip


@pytest.mark.parametrize("form", FORMATS)
def test_a_status_key_under_the_table_completes_the_achieved_rows(
    app: App, tmp_path: Path, form: str
) -> None:
    actions = imported(app, tmp_path, TRACKER, form)
    assert sorted(actions) == ["1", "2", "3", "4"]
    status = {ref: (a["status"], a["rag"]) for ref, a in actions.items()}
    assert status == {
        "1": ("complete", "Fully Achieved"), "2": ("open", "Partially achieved"),
        "3": ("open", "Not started"), "4": ("complete", "Fully Achieved"),
    }  # fmt: skip
    # The Action column is the action; the recommendation it answers is named, not read.
    assert actions["1"]["action"] == "Review the escalation policy with every agency"
    assert actions["2"]["progress"] == "Audit scoped; report due in the autumn"
    assert actions["4"]["progress"] == "Published on the Board's website"


def rag_plan(*cells: str) -> Lines:
    """A tracker whose R/A/G column holds `cells`, one row each."""
    rows = [[str(n), f"Action {n} of the improvement plan", ("Police", "Health")[n % 2],
             "31/03/2017", f"Update {n}", cell]
            for n, cell in enumerate(cells, start=1)]  # fmt: skip
    return ["Partnership improvement plan action tracker 2017",
            ["No.", "Action", "Lead", "By when", "Update", "R/A/G"], *rows]  # fmt: skip


KEYS = {
    # Blue, Red, Amber, Green: blue is done, green only on track.
    "blue": ([*rag_plan("B", "G", "R", "Blue", "A"), "Key", "Blue = complete",
              "Green = on track", "Amber = some slippage", "Red = not started"], {"1", "4"}),
    # Red, Amber, Green: the key says green is done; on one line, as many plans print it.
    "green": ([*rag_plan("G", "A", "R", "Green"),
               "Key: Red = not started; Amber = in progress; Green = complete"], {"1", "4"}),
}  # fmt: skip


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("form", FORMATS)
def test_rag_letters_complete_the_colour_the_key_says_is_complete(
    app: App, tmp_path: Path, form: str, key: str
) -> None:
    plan, done = KEYS[key]
    actions = imported(app, tmp_path, plan, form)
    assert {ref for ref, a in actions.items() if a["status"] == "complete"} == done
    assert actions["1"]["rag"] == ("Blue: complete" if key == "blue" else "Green: complete")
    assert actions["3"]["rag"] == "Red: not started"  # the colour, as the key reads it


WORDS: Lines = [
    "Learning and improvement action log 2017",
    ["Ref", "Action", "Lead", "Target date", "Progress", "Status"],
    ["1", "Rewrite the escalation policy", "Police", "31/03/2017", "Policy rewritten", "Complete"],
    ["2", "Audit the strategy discussions", "Health", "30/06/2017", "", "Achieved \u2013 June 2017"],
    ["3", "Launch the neglect toolkit", "Police", "30/09/2017", "Toolkit launched",
     "Closed 02/10/2017"],
    ["4", "Train the front door", "Health", "31/12/2017", "Half trained", "Partially achieved"],
    ["5", "Survey the families", "Health", "31/12/2017", "", "Not achieved"],
    ["6", "Refresh the training offer", "Police", "Ongoing", "Under way", "In progress"],
    ["7", "Brief the schools", "Education", "31/12/2017", "", "ACHIEVED"],
]  # fmt: skip


@pytest.mark.parametrize("form", FORMATS)
def test_status_words_complete_the_achieved_rows(app: App, tmp_path: Path, form: str) -> None:
    actions = imported(app, tmp_path, WORDS, form)
    done = {ref for ref, a in actions.items() if a["status"] == "complete"}
    assert done == {"1", "2", "3", "7"}
    assert actions["3"]["rag"] == "Closed 02/10/2017"  # as written


def test_only_the_open_rows_of_an_old_plan_are_followed(app: App, tmp_path: Path) -> None:
    """The ladder chases what is still to do; an open row's item carries its progress."""
    imported(app, tmp_path, TRACKER, "text")
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
    with app.sessions() as session:
        followed = session.scalars(select(Obligation)).all()
        refs = sorted({row.action.ref for row in followed if row.action is not None})
        assert refs == ["2", "3"]
        two = next(row for row in followed if row.action and row.action.ref == "2")
        assert view_of(two).progress == "Audit scoped; report due in the autumn"


PREVIEWED: Lines = [
    "Safeguarding Children Board serious case review action tracker",
    ["Ref", "Recommendation", "Action", "Lead", "Target date", "Update",
     "Progress presented to Committee", "Assessment of progress (1-4)"],
    ["1", "Agencies escalate", "Review the escalation policy", "Police", "31/03/2027",
     "Drafted", "Presented 12/10/2026", "2"],
]  # fmt: skip


def test_a_column_no_field_reads_is_named_in_the_preview(app: App, tmp_path: Path) -> None:
    path = as_text(tmp_path / "tracker", PREVIEWED)
    result = CliRunner().invoke(main, ["import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "not read: Recommendation" in result.output
    assert "not read: Progress presented to Committee" in result.output
    assert "Assessment of progress" not in result.output.split("not read")[-1]  # it is read


def test_a_column_named_in_a_map_is_read(app: App, tmp_path: Path) -> None:
    path = as_text(tmp_path / "tracker", PREVIEWED)
    chosen = tmp_path / "map.yaml"
    chosen.write_text("ref: Ref\ntext: Action\nlead_agency: Lead\ntarget_date: Target date\n"
                      "progress: Progress presented to Committee\n", encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(main, ["import", str(path), "--columns", str(chosen)])
    assert result.exit_code == 0, result.output
    assert "not read: Update" in result.output
    with app.sessions() as session:
        assert session.scalar(select(Action.progress)) == "Presented 12/10/2026"


def test_a_key_as_a_small_table_under_its_heading_is_read(app: App, tmp_path: Path) -> None:
    lines: Lines = [*TRACKER[:6], "Key", ["1", "Fully Achieved"], ["2", "Partially achieved"]]
    actions = imported(app, tmp_path, lines, "word")
    assert (actions["1"]["status"], actions["4"]["status"]) == ("complete", "complete")
    # a row under the key that is no entry of it is still an action, refused with its reason
    broken = as_text(tmp_path / "broken", [*lines, ["5", "Brief the schools"]])
    [result] = run_import(app, broken)
    assert result.error is not None
    assert (result.error.line, result.error.field) == (10, "Action")


@pytest.mark.parametrize(
    ("status", "done", "on"),
    [("Complete", True, None), ("COMPLETED.", True, None), ("Fully Achieved", True, None),
     ("Achieved – June 2017", True, date(2017, 6, 30)), ("Closed 02/10/2017", True,
     date(2017, 10, 2)), ("Done", True, None), ("Blue", True, None), ("Green", False, None),
     ("G", False, None), ("Not achieved", False, None), ("Partially achieved", False, None),
     ("Incomplete", False, None), ("Not complete", False, None), ("Green: complete", True,
     None), ("Blue: on hold", False, None), ("Closed 02/10/2099", True, None)],
)  # fmt: skip
def test_the_words_that_say_an_action_is_achieved_and_when(
    status: str, done: bool, on: date | None
) -> None:
    assert achieved(status, "") is done
    assert achieved_on(status, "", date(2026, 12, 7)) == on


FUTURE: Lines = [
    "Partnership improvement plan action tracker 2027",
    ["Ref", "Action", "Lead", "Target date", "Progress", "Status"],
    ["1", "Rewrite the escalation policy", "Police", "31/03/2027", "", "In progress"],
    ["2", "Audit the strategy discussions", "Health", "30/06/2027", "", "In progress"],
]  # fmt: skip


def completions(app: App) -> dict[str, tuple[date, str]]:
    with app.sessions() as session:
        query = select(Action.ref, ObligationEvent.on, ObligationEvent.note).join(
            ObligationEvent.obligation).join(Obligation.action).where(
            ObligationEvent.kind == "completed")  # fmt: skip
        return {ref: (on, note) for ref, on, note in session.execute(query)}


def test_a_completion_is_recorded_on_the_day_the_plan_writes_unless_history_says_later(
    app: App, tmp_path: Path
) -> None:
    today = app.today()
    run_import(app, as_text(tmp_path / "v1", FUTURE))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, today)
        created = datetime.combine(today - timedelta(days=30), datetime.min.time(), UTC)
        session.execute(update(Obligation).values(created_at=created))
    closed, earlier = today - timedelta(days=10), today - timedelta(days=400)
    revised = [*FUTURE[:2], [*FUTURE[2][:5], f"Closed {closed:%d/%m/%Y}"],
               [*FUTURE[3][:5], f"Completed {earlier:%d/%m/%Y}"]]  # fmt: skip
    run_import(app, as_text(tmp_path / "v2", revised))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, today)
    found = completions(app)
    assert found["1"][0] == closed  # after everything on the item's record
    # before the item existed: recorded on the day the plan said so, the date in its note
    assert found["2"][0] == today
    assert f"{earlier:%d/%m/%Y}" in found["2"][1]
