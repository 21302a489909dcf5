"""Re-importing: idempotent upserts, history of every change, nothing deleted, all or nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.conftest import seed
from tests.support.helpers import by_key, records, run_import
from worker.app import App
from worker.models import Change


def edited(tmp_path: Path, source: Path, old: str, new: str, name: str = "") -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    target = tmp_path / (name or source.name)
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


def changes(app: App, key: str) -> list[tuple[str, str | None, str | None]]:
    with app.sessions() as session:
        rows = session.scalars(select(Change).where(Change.subject_key == key).order_by(Change.id))
        return [(c.field, c.old_value, c.new_value) for c in rows]


def test_a_moved_session_gets_a_new_sequence_and_history(app: App, tmp_path: Path) -> None:
    run_import(app, seed("000"))
    moved = edited(
        tmp_path,
        seed("000"),
        "Monday 27 February 201710:00 to 11:30 am",
        "Monday 27 February 201713:00 to 14:30",
    )
    [result] = run_import(app, moved)
    assert result.error is None
    assert result.outcomes[0].updated == 1
    sessions = by_key(records(app, "sessions"), "reference")
    assert sessions["TLS-0217-T036"]["start"] == "2017-02-27T13:00:00+00:00"
    assert sessions["TLS-0217-T036"]["sequence"] == 1
    assert sessions["TLS-0217-T035"]["sequence"] == 0
    assert changes(app, "TLS-0217-T036")[1:] == [
        ("start_time", "10:00:00", "13:00:00"),
        ("end_time", "11:30:00", "14:30:00"),
    ]


def test_a_session_missing_from_the_reimported_sheet_is_cancelled(app: App, tmp_path: Path) -> None:
    run_import(app, seed("000"))
    row = "Tuesday 14 March 201712:00 to 1:30pmWest Norfolk Professional Development CentreTLS-0317-T053\n"
    [result] = run_import(app, edited(tmp_path, seed("000"), row, ""))
    assert result.outcomes[0].retired == 1
    sessions = by_key(records(app, "sessions"), "reference")
    assert len(sessions) == 4
    assert sessions["TLS-0317-T053"]["status"] == "cancelled"
    assert sessions["TLS-0317-T053"]["sequence"] == 1
    run_import(app, seed("000"))
    restored = by_key(records(app, "sessions"), "reference")["TLS-0317-T053"]
    assert (restored["status"], restored["sequence"]) == ("scheduled", 2)


def test_an_action_missing_from_the_reimported_plan_is_withdrawn(app: App, tmp_path: Path) -> None:
    run_import(app, seed("002"))
    text = seed("002").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines(keepends=True) if line.startswith("3.3\t"))
    [result] = run_import(app, edited(tmp_path, seed("002"), line, ""))
    assert result.outcomes[0].retired == 1
    actions = by_key(records(app, "actions"), "ref")
    assert len(actions) == 22
    assert actions["3.3"]["status"] == "withdrawn"
    key = "Serious Case Review Composite Action Plan January 2017 3.3"
    assert changes(app, key)[-1] == ("status", "open", "withdrawn")


def test_changed_progress_is_recorded_and_completion_detected(app: App, tmp_path: Path) -> None:
    run_import(app, seed("002"))
    done = edited(tmp_path, seed("002"), "Audit scheduled for March 2017.", "Complete. Audit done.")
    run_import(app, done)
    action = by_key(records(app, "actions"), "ref")["2.2"]
    assert (action["status"], action["progress"]) == ("complete", "Complete. Audit done.")
    key = "Serious Case Review Composite Action Plan January 2017 2.2"
    assert ("status", "open", "complete") in changes(app, key)


def test_a_bad_document_changes_nothing(app: App, tmp_path: Path) -> None:
    run_import(app, seed("000"))
    broken = edited(
        tmp_path, seed("000"), "Tuesday 14 March 201712:00", "Tuesday 31 February 201712:00"
    )
    before = records(app, "sessions"), records(app, "mi-sheets")
    [result] = run_import(app, broken)
    assert result.error is not None
    assert "line 32" in str(result.error)
    assert "Date" in str(result.error)
    assert (records(app, "sessions"), records(app, "mi-sheets")) == before


def test_a_failure_while_storing_rolls_the_whole_document_back(app: App, tmp_path: Path) -> None:
    """Sessions listed for an MI sheet never imported: refused, the sessions before it too."""
    run_import(app, seed("000"))
    sheet = tmp_path / "sessions.csv"
    sheet.write_text(
        "mi_number,reference,date,start,end,venue\n"
        "3/17,TLS-0417-T001,03/04/2017,10:00,11:30,Norwich PDC\n"
        "9/99,TLS-0417-T002,04/04/2017,10:00,11:30,Norwich PDC\n",
        encoding="utf-8",
    )
    [result] = run_import(app, sheet)
    assert result.error is not None
    assert "line 3" in str(result.error)
    assert "mi_number" in str(result.error)
    assert "'9/99'" in str(result.error)
    assert len(records(app, "sessions")) == 4


def test_plan_name_from_the_command_line(app: App) -> None:
    run_import(app, seed("002"), plan="CAP 2017 (board copy)")
    assert {a["plan"] for a in records(app, "actions")} == {"CAP 2017 (board copy)"}


def test_windows_line_endings_import_the_same(app: App, tmp_path: Path) -> None:
    crlf = tmp_path / "000-crlf.txt"
    crlf.write_bytes(seed("000").read_bytes().replace(b"\n", b"\r\n"))
    run_import(app, crlf)
    sessions = records(app, "sessions")
    assert [s["reference"] for s in sessions][:2] == ["TLS-0217-T035", "TLS-0217-T036"]
    assert all("\r" not in s["venue"] for s in sessions)
    sheet = records(app, "mi-sheets")[0]
    assert sheet["title"] == "NSCB Serious Case Review - Case Q Operation Encompass"
