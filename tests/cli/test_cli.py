"""The `reminders` command, run through click's runner against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, seed
from worker.app import App
from worker.cli import main
from worker.reports.csv_files import spreadsheet_safe


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_reports_imported_and_refused(app: App) -> None:
    code, output = run("import", str(seed("000")), str(seed("001")), str(seed("002")))
    assert code == 1
    assert "imported" in output
    assert "MI sheet 3/17 (new)" in output
    assert "refused" in output
    assert "no MI Number" in output
    assert "22 new" in output


def test_import_of_good_documents_exits_zero(app: App) -> None:
    code, output = run("import", str(seed("003")))
    assert code == 0, output


def test_list_json_shapes(app: App) -> None:
    run("import", str(seed("000")), str(seed("002")))
    code, output = run("list", "sessions", "--json")
    assert code == 0
    first = json.loads(output)[0]
    assert set(first) == {
        "reference", "mi_sheet", "date", "start", "end", "venue",
        "delegate_limit", "booking_url", "status", "sequence",
    }  # fmt: skip
    assert first["start"] == "2017-02-20T10:00:00+00:00"
    actions = json.loads(run("list", "actions", "--json")[1])
    assert len(actions) == 22
    assert actions[0]["target_date"] == "2017-06-01"
    sheets = json.loads(run("list", "mi-sheets", "--json")[1])
    assert sheets[0]["sessions"] == [
        "TLS-0217-T035",
        "TLS-0217-T036",
        "TLS-0317-T052",
        "TLS-0317-T053",
    ]


def test_list_table_for_people(app: App) -> None:
    run("import", str(seed("000")))
    code, output = run("list", "sessions")
    assert code == 0
    assert "TLS-0217-T035" in output
    assert "4 sessions" in output


def test_commands_on_an_uninitialised_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, output = run("list", "actions")
    assert code == 1
    assert "run `reminders init`" in output
    code, output = run("init")
    assert code == 0
    assert "Database ready" in output
    assert run("list", "actions")[0] == 0


def test_examples_import_cleanly(app: App) -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").iterdir() if p.suffix in {".txt", ".csv"})
    code, output = run("import", *examples)
    assert code == 0, output
    actions = json.loads(run("list", "actions", "--json")[1])
    assert not [a["ref"] for a in actions if a["unassigned"]]
    sessions = json.loads(run("list", "sessions", "--json")[1])
    assert len([s for s in sessions if s["mi_sheet"] == "41/26"]) == 6


def test_config_check(app: App) -> None:
    code, output = run("config", "check")
    assert code == 0
    assert "8 agencies" in output


def test_config_check_names_file_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
    broken = broken.replace("email: designated.nurse@example.org", "email: not-an-address")
    (tmp_path / "directory.yaml").write_text(broken, encoding="utf-8")
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    code, output = run("config", "check")
    assert code == 1
    assert "directory.yaml" in output
    assert "agencies[1].contacts[0].email" in output


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("- name: Health\n", '- name: "Health\\r\\nBcc: x@example.org"\n', "agencies[1].name"),
        ("{name: Eastbrook Academy,", '{name: "Eastbrook\\nAcademy",', "establishments[1].name"),
        ("aliases: [Health, NHS,", 'aliases: [Health, "NH\\r\\nS",', "agencies[1].aliases[1]"),
    ],
)
def test_line_breaks_in_directory_names_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, key: str
) -> None:
    text = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "directory.yaml").write_text(text.replace(old, new), encoding="utf-8")
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(tmp_path))
    code, output = run("config", "check")
    assert code == 1
    assert key in output


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 1632 960001", "'+44 1632 960001"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('\uff1dHYPERLINK("x")', '\'\uff1dHYPERLINK("x")'),  # a full-width equals sign
        ("\uff0b1", "'\uff0b1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("-1", "-1"),  # a number is never a formula: stage -1 stays a number
        ("2.5", "2.5"),
        ("Health", "Health"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_cells(cell: str, written: str) -> None:
    assert spreadsheet_safe(cell) == written
