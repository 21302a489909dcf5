"""Names without a detour: a plan with no title line is named after its first heading, else
its file, and says so; `--plan` with several files names only those with no title of their
own, and one plan's file never withdraws another's actions; a table without a Ref column
keeps the references its actions begin with."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.importers.test_other_plans import Lines, as_text
from tests.support.helpers import records, run_import
from worker.app import App
from worker.cli import main

HEADER = ["Action", "Lead agency", "Target date"]
THEME = ["Professional curiosity", "", ""]  # a theme's row across the table
TITLED: Lines = ["Composite Action Plan 2027", HEADER, THEME,
                 ["Audit the referrals", "Health", "30/06/2027"]]  # fmt: skip
HEADED: Lines = ["Review of the front door", HEADER,
                 ["Train the front door", "Police", "31/07/2027"]]  # fmt: skip
BARE: Lines = [HEADER, ["Review the strategy meetings", "Police", "31/08/2027"]]


def plans(app: App) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for action in records(app, "actions"):
        if action["status"] != "withdrawn":
            found.setdefault(action["plan"], []).append(action["action"])
    return found


def test_a_plan_without_a_title_is_named_after_its_heading_or_its_file(
    app: App, tmp_path: Path
) -> None:
    headed, bare = as_text(tmp_path / "headed", HEADED), as_text(tmp_path / "front door", BARE)
    results = run_import(app, headed, bare)
    assert [r.error for r in results] == [None, None]
    assert plans(app) == {"Review of the front door": ["Train the front door"],
                          "front door": ["Review the strategy meetings"]}  # fmt: skip
    assert "named “Review of the front door” after its first heading: it has no title line" in \
        results[0].outcomes[0].notes  # fmt: skip
    assert "named “front door” after its file's name: it has no title line" in \
        results[1].outcomes[0].notes  # fmt: skip


def test_plan_with_several_files_names_only_the_untitled(app: App, tmp_path: Path) -> None:
    titled, bare = as_text(tmp_path / "titled", TITLED), as_text(tmp_path / "bare", BARE)
    result = CliRunner().invoke(main, ["import", "--plan", "Board plan", str(titled), str(bare)])
    assert result.exit_code == 0, result.output
    assert plans(app) == {"Composite Action Plan 2027": ["Audit the referrals"],
                          "Board plan": ["Review the strategy meetings"]}  # fmt: skip


def test_two_files_given_one_name_never_withdraw_each_other(app: App, tmp_path: Path) -> None:
    headed, bare = as_text(tmp_path / "headed", HEADED), as_text(tmp_path / "bare", BARE)
    result = CliRunner().invoke(main, ["import", "--plan", "Board plan", str(headed), str(bare)])
    assert result.exit_code == 1
    assert "headed.txt of this import is also named “Board plan”" in " ".join(result.output.split())
    assert plans(app) == {"Board plan": ["Train the front door"]}  # nothing withdrawn


def test_one_file_given_a_name_takes_it_even_with_a_title(app: App, tmp_path: Path) -> None:
    titled = as_text(tmp_path / "titled", TITLED)
    result = CliRunner().invoke(main, ["import", "--plan", "Board plan", str(titled)])
    assert result.exit_code == 0, result.output
    assert plans(app) == {"Board plan": ["Audit the referrals"]}


def test_rows_without_a_ref_column_keep_the_references_they_begin_with(
    app: App, tmp_path: Path
) -> None:
    lines: Lines = ["Composite Action Plan 2027", HEADER, THEME,
                    ["1.1 Audit the referrals", "Health", "30/06/2027"],
                    ["1.3 Letter to every school", "Education", "31/07/2027"],
                    ["Train the front door", "Police", "31/08/2027"],
                    ["3 schools to visit", "Education", "30/09/2027"]]  # fmt: skip
    [result] = run_import(app, as_text(tmp_path / "plan", lines))
    assert result.error is None, result.error
    found = {a["ref"]: a["action"] for a in records(app, "actions")}
    assert found == {"1.1": "Audit the referrals", "1.3": "Letter to every school",
                     "4": "Train the front door", "5": "3 schools to visit"}  # fmt: skip
    assert "numbered by the service, the table having no Ref column: 4, 5" in \
        result.outcomes[0].notes  # fmt: skip
