"""`reminders import --dry-run`: what an import would do, row by row, storing nothing; and
the import history, with each original kept owner-only under its SHA-256."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.support.helpers import NOW, records
from worker.app import App
from worker.cli import main
from worker.importers import Importer, Received
from worker.importers.history import original
from worker.importers.preview import entries
from worker.models import Change, ImportRecord

TITLE = "Composite Action Plan of the review group"
HEAD = "Theme,Ref,Action,Lead agency,Target date,Progress"
ROW_1 = "Professional curiosity,1.1,Audit the referrals,Health,June 2027,"
ROW_2 = "Professional curiosity,1.2,Train the front door,Police,01/09/2027,"
SHEET = """Management Information Sheet

Safeguarding update for schools

MI Sheet Type: CPD
To Be Completed By: 02/12/2026
MI Number: 16/26
Publication Date: 01/11/2026 09:30:00
LA Contact: Sam Jones (01632 960111)
Audience: All Staff

Date\tTime\tVenue\tReference
Monday 7 December 2026\t10:00 to 11:30 am\tCounty Hall\tTLS-1226-T001
Tuesday 8 December 2026\t2:00 to 3:30pm\tRiverside Centre\tTLS-1226-T002
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def history(app: App) -> list[ImportRecord]:
    with app.sessions() as session:
        return list(session.scalars(select(ImportRecord).order_by(ImportRecord.id)))


def test_a_dry_run_shows_each_change_and_stores_nothing(app: App, tmp_path: Path) -> None:
    first = write(tmp_path / "plan.csv", TITLE, HEAD, ROW_1, ROW_2)
    assert run("import", str(first), "--by", "bm@example.org")[0] == 0
    changed_row = ROW_1.replace("June 2027", "Q3 2027/28") + "Audit booked"
    new_row = "Professional curiosity,1.3,Share the learning,NSCB,TBC,"
    second = write(tmp_path / "plan-v2.csv", TITLE, HEAD, changed_row, new_row)
    before = records(app, "actions")
    with app.sessions() as session:
        changes_before = len(session.scalars(select(Change)).all())
    code, output = run("import", "--dry-run", str(second))
    assert code == 0, output
    assert "would import" in output
    assert "1 new, 1 updated, 0 unchanged, 1 withdrawn" in output
    assert (
        f"changed action {TITLE} 1.1: Target date 2027-06-30 → 2027-12-31; "
        "Progress (empty) → Audit booked\n"
    ) in output
    assert f"new action {TITLE} 1.3: Theme Professional curiosity;" in output
    assert "Date to set TBC" in output
    assert f"withdrawn action {TITLE} 1.2: Status open → withdrawn" in output
    assert records(app, "actions") == before  # nothing stored
    with app.sessions() as session:
        assert len(session.scalars(select(Change)).all()) == changes_before
    assert [r.file_name for r in history(app)] == ["plan.csv"]  # the dry run left no record


def test_a_dry_run_shows_sessions_moved_and_cancelled(app: App, tmp_path: Path) -> None:
    run("import", str(write(tmp_path / "sheet.txt", SHEET)))
    moved = SHEET.replace("2:00 to 3:30pm", "3:00 to 4:30pm").replace(
        "Monday 7 December 2026\t10:00 to 11:30 am\tCounty Hall\tTLS-1226-T001\n", ""
    )
    importer = app.importer("bm@example.org", dry_run=True)
    [result] = importer.run([Received("sheet-v2.txt", moved.encode())])
    assert result.error is None, result.error
    shown = {(e.what, e.key): e for e in entries(result.changes)}
    move = shown[("moved", "TLS-1226-T002")]
    assert [(f.label, f.old, f.new) for f in move.fields] == [
        ("Start", "14:00:00", "15:00:00"),
        ("End", "15:30:00", "16:30:00"),
        ("Sequence", "0", "1"),  # calendars replace their copy
    ]
    cancelled = shown[("cancelled", "TLS-1226-T001")]
    assert ("Status", "scheduled", "cancelled") in [
        (f.label, f.old, f.new) for f in cancelled.fields
    ]
    assert [s["start"][11:16] for s in records(app, "sessions")] == ["10:00", "14:00"]


def test_the_history_keeps_who_when_what_and_the_original(app: App, tmp_path: Path) -> None:
    good = write(tmp_path / "plan.csv", TITLE, HEAD, ROW_1)
    bad = write(tmp_path / "vague.csv", TITLE, HEAD, ROW_1.replace("June 2027", "Spring 2027"))
    code, _ = run("import", str(good), str(bad), "--by", "bm@example.org")
    assert code == 1
    imported, refused = history(app)
    assert (imported.by, imported.file_name, imported.refused) == (
        "bm@example.org", "plan.csv", False,
    )  # fmt: skip
    assert imported.sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
    assert imported.summary == f"plan {TITLE!r}: actions: 1 new, 0 updated, 0 unchanged"
    assert refused.refused
    assert "Target date: too vague for a deadline" in refused.summary
    assert "'Spring 2027'" in refused.summary
    folder = app.settings.imports_dir
    kept = original(folder, imported.sha256)
    assert kept is not None
    assert kept.read_bytes() == good.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert original(folder, "../../etc/passwd") is None  # only a SHA-256 names a file


def test_the_same_document_twice_is_kept_once(app: App, tmp_path: Path) -> None:
    importer = Importer(app.sessions, app.import_options(), NOW, "bm", app.settings.imports_dir)
    document = Received("plan.csv", f"{TITLE}\n{HEAD}\n{ROW_1}\n".encode())
    first, second = importer.run([document, document])
    assert first.outcomes[0].created == 1
    assert second.outcomes[0].unchanged == 1
    assert len(history(app)) == 2
    assert [p.name for p in app.settings.imports_dir.iterdir()] == [document.sha256]
