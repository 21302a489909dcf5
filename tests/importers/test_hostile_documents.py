"""Malformed documents (tests/data/malformed/): each is refused with an error that names the
file, and the line and field where there is one; imported beside good documents, the good
ones import and nothing of the malformed one is stored, on SQLite and PostgreSQL.

The malformed CAPs carry the title and refs of seed 002, and the malformed MI sheets and
sessions CSV the number and session references of seed 000: anything stored from them would
overwrite, withdraw or cancel what the seeds put there. Every value they would add contains
MALFORMED.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, seed
from tests.support.helpers import TODAY, records, run_import
from worker.app import App
from worker.cli import main
from worker.directory.entries import load_directory
from worker.importers import ImportOptions, parse_file
from worker.importers.documents import ParsedPlan
from worker.importers.errors import DocumentError
from worker.importers.text import MAX_BYTES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "malformed"
KINDS = ("actions", "mi-sheets", "sessions")
CAP_TITLE = "Serious Case Review Composite Action Plan January 2017"
UNKNOWN_THEME = "unknown theme (known: Professional curiosity;"


def ten_megabytes(folder: Path) -> Path:
    """A CAP padded with well-formed rows to 10 MB: refused for its size, before parsing."""
    path = folder / "cap_10_megabytes.txt"
    row = "1.1\tA\tMALFORMED padding row of a very large plan.\tNSCB\t01/06/17\tMALFORMED\n"
    head = f"{CAP_TITLE}\n\nProfessional Curiosity\t\t\t\t\t\n"
    head += "Ref\tSCR Ref\tAction\tLead agency\tTarget date\tProgress\n"
    with path.open("w", encoding="utf-8") as file:
        file.write(head)
        file.write(row * (10 * 10**6 // len(row) + 1))
    assert path.stat().st_size > 10 * 10**6 > MAX_BYTES
    return path


def one_long_line(folder: Path) -> Path:
    """200,000 characters and no line break: longer than the csv module's field limit
    (131,072), which the CSV detection once let escape as a traceback."""
    path = folder / "one_long_line.txt"
    path.write_text("MALFORMED " * 20_000, encoding="utf-8")
    return path


Source = str | Callable[[Path], Path]  # a file in the corpus, or made at test time


# (document, fragments its error message must contain). Line numbers are the document's own,
# counted from 1, as the business manager sees them in an editor.
CASES: dict[str, tuple[Source, list[str]]] = {
    "truncated CAP": ("cap_truncated.txt", ["line 7", "Lead agency: missing"]),
    "binary file": ("binary.png", ["not a text document (binary content)"]),
    "empty file": ("empty.txt", ["the file is empty"]),
    "10 MB file": (ten_megabytes, ["too large (10.0 MB; the limit is 5 MB)"]),
    "one 200,000-character line": (one_long_line, ["neither a Composite Action Plan"]),
    "31/02/2017 in a CAP": (
        "cap_31_february.txt",
        ["line 6", "Target date: not a valid date", "(value '31/02/2017')"],
    ),
    "25:00 in an MI sheet": (
        "mi_25_oclock.txt",
        ["line 16", "Time: not a valid time of day", "(value '25:00 to 26:30')"],
    ),
    "25:00 in a sessions CSV": (
        "sessions_25_oclock.csv",
        ["line 3", "start: expected a 24-hour time", "(value '25:00')"],
    ),
    "unknown theme": (
        "cap_unknown_theme.txt",
        ["line 7", f"Theme: {UNKNOWN_THEME}", "(value 'Workforce Wellbeing')"],
    ),
    "duplicate refs": (
        "cap_duplicate_refs.txt",
        ["line 7", "Ref: duplicate reference (first used on line 5)", "(value '1.1')"],
    ),
    "session table header with no table": (
        "mi_header_no_table.txt",
        ["line 14", "a session table header with no rows under it"],
    ),
    "impossible To Be Completed By": (
        "mi_impossible_due_date.txt",
        ["line 6", "To Be Completed By: not a valid date", "(value '30/02/2017')"],
    ),
    "short CSV row": (
        "actions_short_row.csv",
        ["line 3", "4 cells where the header has 8"],
    ),
    "31/12/9999 as a target date": (
        "cap_year_9999.txt",
        ["line 6", "Target date: looks like a placeholder", "write 'Ongoing'", "'31/12/9999'"],
    ),
    "01/01/0001 as a target date": (
        "cap_year_0001.txt",
        [
            "line 6",
            "Target date: looks like a placeholder, not a real date (before 2000)",
            "'01/01/0001'",
        ],
    ),
    "01/13/17, month first": (
        "cap_month_first.txt",
        ["line 6", "Target date: not a valid date: there is no month 13", "'01/13/17'"],
    ),
    "31/12/9999 as an MI sheet's due date": (
        "mi_due_year_9999.txt",
        ["line 6", "To Be Completed By: looks like a placeholder", "after 06/01/2017"],
    ),
    "javascript: booking link in a sessions CSV": (
        "sessions_javascript_url.csv",
        ["line 3", "booking_url: expected a web address", "(value 'javascript:alert(1)')"],
    ),
    "UTF-8 file with one stray byte": (
        "cap_utf8_stray_byte.txt",
        ["line 6", "not valid UTF-8: byte 0x96 at byte offset 266"],
    ),
}


@pytest.fixture(scope="module")
def options() -> ImportOptions:
    directory = load_directory(ROOT / "config" / "directory.yaml")
    pattern = r"[A-Z]{3}-\d{4}-[A-Z]\d{3}"
    return ImportOptions(directory.themes, pattern, ZoneInfo("Europe/London"), TODAY)


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, list[str]]:
    source, fragments = CASES[request.param]
    return (CORPUS / source if isinstance(source, str) else source(tmp_path)), fragments


def test_every_file_of_the_corpus_is_a_case_and_small() -> None:
    named = {source for source, _ in CASES.values() if isinstance(source, str)}
    assert named == {p.name for p in CORPUS.iterdir()}
    assert all(p.stat().st_size < 1024 for p in CORPUS.iterdir())


def test_each_is_refused_naming_file_line_and_field(
    case: tuple[Path, list[str]], options: ImportOptions
) -> None:
    path, fragments = case
    with pytest.raises(DocumentError) as caught:
        parse_file(path, options)
    error = caught.value
    message = str(error)
    assert error.file == str(path)
    assert message.startswith(f"{path}: ") or message.startswith(f"{path}, line ")
    for fragment in fragments:
        assert fragment in message, message
    if error.line is not None:
        assert f"{path}, line {error.line}: " in message
    if error.field is not None:
        assert f": {error.field}: " in message
    assert "Traceback" not in message


def snapshot(app: App) -> dict[str, list[dict[str, Any]]]:
    return {kind: records(app, kind) for kind in KINDS}


def listed(kind: str) -> list[dict[str, Any]]:
    """What `reminders list KIND --json` prints."""
    result = CliRunner().invoke(main, ["list", kind, "--json"])
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.output)
    return found


def cap_actions(options: ImportOptions) -> dict[tuple[str, str], str]:
    """(plan, ref) → action text, as seed 002 itself says."""
    _, [plan] = parse_file(seed("002"), options)
    assert isinstance(plan, ParsedPlan)
    return {(plan.title, a.ref): a.text for a in plan.actions}


def test_beside_good_documents_the_good_import_and_nothing_of_the_bad_is_stored(
    app: App, case: tuple[Path, list[str]], options: ImportOptions
) -> None:
    path, fragments = case
    [sheet] = run_import(app, seed("000"))
    assert sheet.error is None
    before = snapshot(app)
    assert len(before["sessions"]) == 4

    # The good CAP first, then the bad document that would overwrite or withdraw its actions.
    good, bad = run_import(app, seed("002"), path)
    assert good.error is None
    assert good.kind == "Composite Action Plan"
    assert bad.error is not None
    assert bad.outcomes == []
    assert all(fragment in str(bad.error) for fragment in fragments)

    after = snapshot(app)
    assert after["mi-sheets"] == before["mi-sheets"]
    assert after["sessions"] == before["sessions"]
    assert {(a["plan"], a["ref"]): a["action"] for a in after["actions"]} == cap_actions(options)
    assert {a["status"] for a in after["actions"]} <= {"open", "complete"}
    assert "MALFORMED" not in json.dumps(after)
    assert [listed(kind) for kind in KINDS] == [after[kind] for kind in KINDS]

    # Through the command, alone and beside a good document already in: exit status 1, the
    # refusal reported, the good one unchanged, and the records exactly as they were.
    result = CliRunner().invoke(main, ["import", str(seed("000")), str(path)])
    assert result.exit_code == 1
    assert f"refused {path}" in result.output
    assert all(fragment in result.output for fragment in fragments)
    assert "imported" in result.output
    assert "MI sheet 3/17" in result.output
    assert snapshot(app) == after
