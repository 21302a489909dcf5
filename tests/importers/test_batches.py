"""Many documents in one transaction, a savepoint each, committed in batches: what one call
stores is what a call per document would, a refused document changes nothing, and a failure
keeps what came before it."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DataError

from tests.conftest import ROOT
from tests.support.helpers import NOW, by_key, records
from worker.app import App
from worker.importers import Importer, ImportResult
from worker.importers.documents import ParsedSheet
from worker.importers.store import Writer, sheet_values
from worker.models import Change, ImportRecord

SHEET = (ROOT / "examples" / "mi-2026-044.txt").read_text(encoding="utf-8")
ROWS = [line for line in SHEET.splitlines(keepends=True) if re.search(r"RLS-\d{4}-T\d{3}$", line)]
CSV = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"


def sheet(folder: Path, name: str, number: str, refs: Sequence[str], title: str = "") -> Path:
    """An MI sheet shaped like examples/mi-2026-044.txt, numbered `number`, with a session
    for each of `refs` (a reference given twice: a row twice), titled `title` if given."""
    rows = "".join(re.sub(r"RLS-\d{4}-T\d{3}", ref, ROWS[i % len(ROWS)])
                   for i, ref in enumerate(refs))  # fmt: skip
    text = SHEET.replace("".join(ROWS), rows).replace("MI Number:44/26", f"MI Number:{number}")
    if title:
        text = text.replace("RSCP Serious Case Review: Child D", title, 1)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refs(prefix: str, *numbers: int) -> list[str]:
    return [f"{prefix}-1226-T{n:03d}" for n in numbers]


def importer(app: App, size: int = 100, seconds: float = 3600.0) -> Importer:
    return Importer(app.sessions, app.import_options(), NOW, "tests", app.settings.imports_dir,
                    batch_size=size, batch_seconds=seconds)  # fmt: skip


@pytest.fixture
def twin(app: App, another_database: str) -> Iterator[App]:
    """A second application like `app`, on a database of its own."""
    other = App(app.settings.model_copy(update={"database_url": another_database}))
    other.initialise()
    yield other
    other.close()


@pytest.fixture
def commits(app: App) -> list[int]:
    """The transactions `app` commits from now on (one entry each)."""
    seen: list[int] = []
    event.listen(app.engine, "commit", lambda _connection: seen.append(1))
    return seen


def state(app: App) -> dict[str, Any]:
    """Everything an import writes, without the ids the database gives."""
    with app.sessions() as session:
        changes = session.scalars(select(Change).order_by(Change.id))
        history = session.scalars(select(ImportRecord).order_by(ImportRecord.id))
        return {
            "sheets": records(app, "mi-sheets"),
            "sessions": records(app, "sessions"),
            "actions": records(app, "actions"),
            "changes": [
                (c.subject_key, c.field, c.old_value, c.new_value, c.source) for c in changes
            ],
            "history": [(r.file_name, r.kind, r.summary, r.refused) for r in history],
        }


def said(results: list[ImportResult]) -> list[tuple[str, str, str, list[str]]]:
    return [(r.name, r.kind, str(r.error), [o.described() for o in r.outcomes]) for r in results]


def test_one_call_stores_what_a_call_per_document_would(
    app: App, twin: App, tmp_path: Path, commits: list[int]
) -> None:
    """Sheets updated, cancelling and moving sessions, unchanged and new; one refused when
    read, one refused by the database (a session row twice: the reference is unique), one
    file missing, one sheet twice: all in one transaction, the same as one by one."""
    first = [sheet(tmp_path, "a1.txt", "1/27", refs("AAA", 1, 2, 3, 4)),
             sheet(tmp_path, "b1.txt", "2/27", refs("BBB", 1, 2, 3, 4)),
             sheet(tmp_path, "e1.txt", "5/27", refs("EEE", 1, 2))]  # fmt: skip
    plan = tmp_path / "plan.csv"
    plan.write_text(CSV + "Plan X,1.1,Professional curiosity,A,Do it.,Health,01/06/2027,\n")
    bad = sheet(tmp_path, "bad.txt", "9/27", refs("ZZZ", 1))
    bad.write_text(bad.read_text().replace("Wednesday 2nd December", "Wednesday 31st February"))
    listed = tmp_path / "sessions.csv"
    listed.write_text("mi_number,reference,date,start,end,venue\n"
                      "6/27,FFF-1226-T009,04/01/2027,10:00,11:30,Norwich PDC\n")  # fmt: skip
    second = [
        sheet(tmp_path, "a2.txt", "1/27", refs("AAA", 2, 1, 3), title="Child D, again"),
        first[1],  # unchanged
        sheet(tmp_path, "c.txt", "3/27", [*refs("CCC", 1, 2), *refs("EEE", 2)]),
        plan,
        sheet(tmp_path, "f.txt", "6/27", refs("FFF", 1, 2)),
        sheet(tmp_path, "d.txt", "4/27", refs("DDD", 1, 2, 2, 3)),  # refused by the database
        sheet(tmp_path, "h.txt", "8/27", refs("HHH", 1)),
        listed,  # names sheet 6/27, imported just before it
        bad,  # refused when read
        tmp_path / "missing.txt",
        sheet(tmp_path, "g1.txt", "7/27", refs("GGG", 1, 2)),
        sheet(tmp_path, "g2.txt", "7/27", refs("GGG", 2, 3)),  # the sheet just imported, again
    ]
    for each in (app, twin):
        assert all(r.error is None for r in importer(each).files(first))
    commits.clear()
    together = importer(app).files(second)
    assert len(commits) == 1
    alone = [result for path in second for result in importer(twin).files([path])]
    assert said(together) == said(alone)
    assert state(app) == state(twin)
    refused = {Path(r.name).name: str(r.error) for r in together if r.error is not None}
    assert set(refused) == {"d.txt", "bad.txt", "missing.txt"}
    assert refused["d.txt"].startswith(str(tmp_path / "d.txt"))
    assert "line 31" in refused["bad.txt"]
    assert "Date" in refused["bad.txt"]
    sessions = by_key(records(app, "sessions"), "reference")
    assert sessions["EEE-1226-T002"]["mi_sheet"] == "3/27"
    assert sessions["FFF-1226-T009"]["mi_sheet"] == "6/27"
    assert (sessions["AAA-1226-T004"]["status"], sessions["AAA-1226-T004"]["sequence"]) == (
        "cancelled", 1)  # fmt: skip
    assert not any(ref.startswith("DDD") for ref in sessions)
    assert "4/27" not in {s["number"] for s in records(app, "mi-sheets")}


def test_a_refused_sheet_in_a_batch_changes_nothing(
    app: App, tmp_path: Path, commits: list[int]
) -> None:
    """A stored sheet imported again with a new title and a session row twice: refused by
    the database after its row was updated, and rolled back to its savepoint alone."""
    kept = sheet(tmp_path, "kept.txt", "3/27", refs("KKK", 1, 2, 3))
    importer(app).files([kept])
    before = state(app)
    broken = sheet(tmp_path, "kept-v2.txt", "3/27", refs("KKK", 1, 4, 4), title="Renamed")
    unread = sheet(tmp_path, "unread.txt", "2/27", refs("UUU", 1))
    unread.write_text(unread.read_text().replace("MI Number:2/27", ""))
    batch = [sheet(tmp_path, "one.txt", "1/27", refs("OOO", 1, 2)), unread,
             sheet(tmp_path, "four.txt", "4/27", refs("QQQ", 1)), broken,
             sheet(tmp_path, "five.txt", "5/27", refs("VVV", 1, 2))]  # fmt: skip
    commits.clear()
    results = importer(app).files(batch)
    assert len(commits) == 1
    assert [r.error is None for r in results] == [True, False, True, False, True]
    assert "no MI Number" in str(results[1].error)
    after = state(app)
    assert by_key(after["sheets"], "number")["3/27"] == by_key(before["sheets"], "number")["3/27"]
    assert [s for s in after["sessions"] if s["mi_sheet"] == "3/27"] == before["sessions"]
    assert not [c for c in after["changes"] if c[4] == str(broken)]
    assert sorted(by_key(after["sheets"], "number")) == ["1/27", "3/27", "4/27", "5/27"]
    assert [h[0] for h in after["history"]] == ["kept.txt", "one.txt", "unread.txt",
                                                "four.txt", "five.txt"]  # fmt: skip


def failing_at(number: str, error: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing the sheet numbered `number` raises `error`."""

    def failing(parsed: ParsedSheet, writer: Writer) -> dict[str, Any]:
        if parsed.number == number:
            raise error
        return sheet_values(parsed, writer)

    # The module itself: `worker.importers.store` names the package's function of that name.
    monkeypatch.setattr(sys.modules["worker.importers.store"], "sheet_values", failing)


def five_sheets(folder: Path) -> list[Path]:
    return [
        sheet(folder, f"s{n}.txt", f"{n}/27", refs(f"S{letter}X", 1, 2))
        for n, letter in enumerate("ABCDE", 1)
    ]


def stored_numbers(app: App) -> list[str]:
    return sorted(s["number"] for s in records(app, "mi-sheets"))


def test_a_failure_keeps_the_batches_and_the_documents_before_it(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commits: list[int]
) -> None:
    """Batches of two; the fourth sheet fails unexpectedly: the error is raised, as it was
    when each document had a transaction of its own, and the three before it are kept."""
    failing_at("4/27", RuntimeError("the disk is on fire"), monkeypatch)
    with pytest.raises(RuntimeError, match="on fire"):
        importer(app, size=2).files(five_sheets(tmp_path))
    assert len(commits) == 2
    assert stored_numbers(app) == ["1/27", "2/27", "3/27"]
    assert [h[0] for h in state(app)["history"]] == ["s1.txt", "s2.txt", "s3.txt"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite keeps any length
def test_a_value_too_long_for_postgresql_stops_the_import_where_it_was(
    app: App, tmp_path: Path
) -> None:
    """A venue longer than its column: PostgreSQL refuses the statement (SQLite keeps it)."""
    paths = five_sheets(tmp_path)
    paths[3].write_text(paths[3].read_text().replace("Riverside PDC", "Riverside " * 40))
    with pytest.raises(DataError):
        importer(app, size=2).files(paths)
    assert stored_numbers(app) == ["1/27", "2/27", "3/27"]


def test_an_interrupt_loses_the_batch_under_way_and_no_more(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the second batch: the first is kept, nothing of the second (on SQLite too,
    where the savepoints nest in a transaction begun before them)."""
    paths = five_sheets(tmp_path)
    plan = tmp_path / "plan.csv"
    plan.write_text(CSV + "Plan X,1.1,Professional curiosity,A,Do it.,Health,01/06/2027,\n")
    failing_at("5/27", KeyboardInterrupt(), monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        importer(app, size=3).files([*paths[:3], plan, paths[4]])
    assert stored_numbers(app) == ["1/27", "2/27", "3/27"]
    assert records(app, "actions") == []


def test_a_batch_commits_when_full_or_when_open_long(
    app: App, tmp_path: Path, commits: list[int]
) -> None:
    importer(app, size=2).files(five_sheets(tmp_path))
    assert len(commits) == 3
    plans = []
    for n in range(3):
        plans.append(tmp_path / f"plan-{n}.csv")
        plans[-1].write_text(
            CSV + f"Plan {n},1.1,Professional curiosity,A,Do it.,Health,Ongoing,\n"
        )
    commits.clear()
    results = importer(app, seconds=0).files(plans)  # each open long enough once stored
    assert [r.error for r in results] == [None, None, None]
    assert len(commits) == 3
