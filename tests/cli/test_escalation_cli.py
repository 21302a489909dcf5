"""The business manager's commands, through click's runner, on a real database."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from tests.conftest import ROOT, seed
from worker.app import App
from worker.cli import main
from worker.cli.common import console

RULES_DATA = ROOT / "tests" / "data" / "rules"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def status(on: str) -> dict[str, dict[str, Any]]:
    code, output = run("escalation", "status", "--on", on, "--json")
    assert code == 0, output
    return {r["key"]: r for r in json.loads(output)}


def only(records: dict[str, dict[str, Any]], ref: str) -> dict[str, Any]:
    [found] = [r for r in records.values() if r["ref"].startswith(f"{ref} (")]
    return found


@pytest.fixture
def config_copy(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/ the test may edit, in force for the commands it runs."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    return folder


def load_rules(path: Path, text: str) -> tuple[int, str]:
    """`text` written to `path` and loaded as the next rules version, as the manager would."""
    path.write_text(text, encoding="utf-8")
    return run("rules", "load", str(path), "--by", "bm@example.org", "--reason", "a test")


def test_rules_check_accepts_the_shipped_rules(app: App) -> None:
    code, output = run("rules", "check")
    assert code == 0
    assert "4 stages: 1 Practitioner, 2 Line manager" in output


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown_role.yaml", "stages[2].tell[0]: unknown role 'boss'"),
        ("negative_days.yaml", "stages[1].enters_after"),
        ("missing_days.yaml", "enters_after: missing"),
        ("out_of_order.yaml", "stages: out of order: stage 3 follows stage 1"),
        ("unknown_group.yaml", "unknown group 'colleges'"),
    ],
)
def test_rules_check_names_each_problem(app: App, name: str, message: str) -> None:
    code, output = run("rules", "check", str(RULES_DATA / name))
    assert code == 1
    assert name in output
    assert message in output


def test_status_json_shape_and_recipients(app: App) -> None:
    run("import", str(seed("002")))
    record = only(status("2017-02-16"), "3.1")
    assert record["stage"] == 3
    assert record["stage_name"] == "Senior manager / designated safeguarding lead"
    assert record["working_days_overdue"] == 11
    assert (record["next_stage"], record["next_change"]) == (4, "2017-02-23")
    assert [t["role"] for t in record["told"]] == [
        "named_contact",
        "line_manager",
        "senior_safeguarding_lead",
    ]


@pytest.mark.parametrize(
    ("utc", "stage"),
    [
        ("2017-03-26 22:59:00", 0),  # Sunday 23:59 BST: still the weekend
        ("2017-03-26 23:30:00", 1),  # Monday 00:30 BST: the first working day after the target
        ("2017-10-30 00:30:00", 1),  # Monday 00:30 GMT, after the clocks went back
        ("2017-10-29 23:59:00", 0),  # Sunday 23:59 GMT
    ],
)
def test_decisions_near_the_clock_changes_use_the_local_date(
    app: App, tmp_path: Path, utc: str, stage: int
) -> None:
    target = "24/03/17" if utc.startswith("2017-03") else "27/10/17"
    text = seed("002").read_text(encoding="utf-8").replace("\t01/02/17\t", f"\t{target}\t")
    (tmp_path / "cap.txt").write_text(text, encoding="utf-8")
    run("import", str(tmp_path / "cap.txt"))
    with freeze_time(utc):
        code, output = run("escalation", "status", "--json")
    assert code == 0, output
    [record] = [r for r in json.loads(output) if r["ref"].startswith("3.1 (")]
    assert record["stage"] == stage


def test_ack_pauses_and_is_explained(app: App) -> None:
    run("import", str(seed("002")))
    with freeze_time("2017-02-10 12:00:00"):
        code, output = run(
            "ack", "3.1", "--by", "education.adviser@example.org", "--note", "audit booked"
        )
    assert code == 0, output
    record = only(status("2017-02-16"), "3.1")
    assert (record["stage"], record["paused_until"]) == (2, "2017-02-23")
    code, output = run("escalation", "explain", "3.1", "--on", "2017-03-03")
    assert code == 0
    assert "2017-02-10  acknowledged" in output
    assert "entered stage 3" in output


def test_complete_an_establishment_then_the_sheet_is_not_owed_by_it(app: App) -> None:
    run("import", str(seed("000")))
    assert len(status("2017-03-20")) == 4
    code, output = run("complete", "3/17", "--establishment", "eastbrook academy")
    assert code == 0, output
    left = status("2030-01-01")
    assert len(left) == 3
    assert "Eastbrook Academy" not in {r["owner"] for r in left.values()}
    code, output = run("complete", "3/17", "--establishment", "Nowhere School")
    assert code == 1
    assert "not owed by an establishment named 'Nowhere School'" in output


def test_retarget_restarts_the_ladder(app: App) -> None:
    run("import", str(seed("002")))
    code, output = run(
        "retarget",
        "3.1",
        "2030-06-03",
        "--reason",
        "new SEND process",
        "--by",
        "business.manager@example.org",
    )
    assert code == 0, output
    record = only(status("2030-06-04"), "3.1")
    assert (record["stage"], record["target_date"]) == (1, "2030-06-03")


def test_ambiguous_and_unknown_refs(app: App) -> None:
    run("import", str(seed("002")))
    run("import", str(seed("002")), "--plan", "Board copy")
    code, output = run("escalation", "explain", "3.1")
    assert code == 1
    assert "in 2 plans" in output
    assert run("escalation", "explain", "3.1", "--plan", "Board copy")[0] == 0
    code, output = run("ack", "9.9", "--by", "x@example.org", "--note", "n")
    assert code == 1
    assert "no action 9.9" in output


def test_copied_rules_hold_until_reapplied(app: App, config_copy: Path) -> None:
    with freeze_time("2017-01-18 12:00:00"):  # imported, and so assessed, before 3.1 is due
        run("import", str(seed("002")))
    assert run("escalation", "run", "--on", "2017-02-02")[0] == 0  # 3.1 enters stage 1
    rules = config_copy / "escalation.yaml"
    text = rules.read_text(encoding="utf-8")
    old, new = ("    enters_after: 5\n    tell: [line_manager]",
                "    enters_after: 10\n    tell: [line_manager]")  # fmt: skip
    assert load_rules(rules, text.replace(old, new))[0] == 0
    assert only(status("2017-02-09"), "3.1")["stage"] == 2  # its own copy: 5 days
    assert only(status("2017-06-05"), "4.11")["next_change"] == "2017-06-16"  # new rules: 10
    code, output = run("escalation", "reapply", "3.1", "--by", "business.manager@example.org")
    assert code == 0
    assert "1 live obligation(s)" in output
    assert only(status("2017-02-09"), "3.1")["stage"] == 1


def test_a_broken_rules_file_is_refused_and_replaces_nothing(app: App, config_copy: Path) -> None:
    run("import", str(seed("002")))
    broken = (RULES_DATA / "unknown_role.yaml").read_text(encoding="utf-8")
    code, output = load_rules(config_copy / "escalation.yaml", broken)
    assert code == 1
    assert "unknown role 'boss'" in output
    assert "nothing saved" in output
    code, output = run("escalation", "status")
    assert code == 0, output  # the rules in force are the ones before


def test_report_escalations_csv(app: App) -> None:
    with freeze_time("2017-01-18 12:00:00"):
        run("import", str(seed("002")))
    for day in ("2017-01-18", "2017-02-02", "2017-02-09"):
        assert run("escalation", "run", "--on", day)[0] == 0
    code, output = run("report", "escalations", "--since", "2017-02-01", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    mine = [r for r in rows if r["ref"].startswith("3.1 (")]
    assert [(r["date"], r["from"], r["to"]) for r in mine] == [
        ("2017-02-02", "Due soon", "Practitioner"),
        ("2017-02-09", "Practitioner", "Line manager"),
    ]
    assert "5 working days after stage 1 on 2017-02-02" in mine[1]["reason"]


MARKUP = "[/bold] [red]red[/red] [link=https://evil.example]click[/link]"


def test_document_text_with_terminal_markup_is_shown_as_written(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "size", (400, 100))  # no folding: each cell on one line
    text = seed("002").read_text(encoding="utf-8")
    plan = tmp_path / "cap.txt"
    plan.write_text(text.replace("Engage with clinicians", f"{MARKUP} Engage with clinicians"))
    code, output = run("import", str(plan), "--plan", f"CAP {MARKUP}")
    assert code == 0, output
    assert f"imported {plan} (Composite Action Plan): plan 'CAP {MARKUP}'" in output
    code, output = run("list", "actions")
    assert code == 0, output
    assert f"CAP {MARKUP}"[:60] in output  # the table shows the first 60 characters
    for day in ("2017-02-02", "2017-02-09"):
        assert run("escalation", "run", "--on", day)[0] == 0
    for command in (["report", "escalations"], ["escalation", "status", "--on", "2017-02-09"]):
        code, output = run(*command)
        assert code == 0, output
        assert f"(CAP {MARKUP[:30]}" in output


def test_every_csv_cell_a_spreadsheet_would_run_is_neutralised(app: App, config_copy: Path) -> None:
    """A stage named like a formula (the business manager's file, or someone's mistake)."""
    rules = (config_copy / "escalation.yaml").read_text(encoding="utf-8")
    hostile = '=HYPERLINK("https://evil.example","Line manager")'
    hostile_rules = rules.replace("name: Line manager", f"name: '{hostile}'")
    assert load_rules(config_copy / "escalation.yaml", hostile_rules)[0] == 0
    run("import", str(seed("002")))
    for day in ("2017-02-02", "2017-02-09"):
        assert run("escalation", "run", "--on", day)[0] == 0
    code, output = run("report", "escalations", "--csv")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    cells = [cell for row in rows for cell in row.values()]
    assert f"'{hostile}" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").isdigit()]
