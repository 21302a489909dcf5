"""A leaver erased: their address and names gone from every table, the bodies of their
digests removed, and the record of what was done intact (counts, dates, stage history,
events kept "by a former named contact of Health")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, make_url, select

from tests.conftest import ROOT
from tests.privacy.test_subject_access import NAME, acted
from tests.support.console import MANAGER, NURSE, partnership
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY, history, origin, parse_directory
from worker.models import (
    Action,
    Base,
    ConsoleAction,
    Contact,
    Delivery,
    ObligationEvent,
    StageChange,
)
from worker.paths import EXAMPLES_DIR
from worker.privacy.erasure import ERASED, Pseudonym, replaced
from worker.privacy.people import Person, in_force, person
from worker.privacy.subject_access import held_about

SUCCESSOR = "new.nurse@example.org"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def counted(app: App) -> dict[str, int]:
    with app.sessions() as session:
        return {table: session.scalar(select(func.count()).select_from(
            Base.metadata.tables[table])) or 0 for table in Base.metadata.tables}  # fmt: skip


def anywhere(app: App, words: list[str]) -> list[str]:
    """Each table and column whose text holds any of `words` (in any case)."""
    found = []
    with app.sessions() as session:
        for table in Base.metadata.tables.values():
            for row in session.execute(select(table)).mappings():
                found += [f"{table.name}.{column}" for column, value in row.items()
                          if any(w.lower() in str(value).lower() for w in words)]  # fmt: skip
    return sorted(set(found))


def scalar(app: App, query: Callable[[], Any]) -> Any:
    with app.sessions() as session:
        return session.execute(query()).scalars().all()


def test_a_leaver_is_erased_and_the_record_of_what_was_done_stays(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        acted(app, client)
    code, output = run("person", "erase", NURSE, "--by", MANAGER, "--reason", "six years")
    assert code == 1
    assert "is in the directory in force" in output
    code, output = run("directory", "replace", NURSE, SUCCESSOR, "--name", "New Nurse",
                       "--by", MANAGER, "--reason", "retired")  # fmt: skip
    assert code == 0, output
    assert anywhere(app, [NURSE, NAME])  # held, before
    before = counted(app)

    code, output = run("person", "erase", NURSE, "--by", MANAGER, "--reason", "six years")
    assert code == 0, output
    assert f"{NURSE} is now a former named contact of Health (" in output

    assert anywhere(app, [NURSE, NAME]) == []
    after = counted(app)
    assert after == before | {"console_actions": before["console_actions"] + 1}
    [event] = scalar(app, lambda: select(ObligationEvent).where(
        ObligationEvent.note == "Audit booked for March"))  # fmt: skip
    assert event.by.startswith("a former named contact of Health (")
    theirs = scalar(app, lambda: select(Delivery).where(Delivery.recipient.like("erased.%")))
    assert theirs
    assert all(d.payload == {} and d.recipient.endswith("@erased.example.org") for d in theirs)
    assert all(d.state == "sent" or d.last_error == ERASED for d in theirs)
    assert scalar(app, lambda: select(StageChange.id)) == scalar(
        app, lambda: select(StageChange.id))  # fmt: skip
    with app.sessions() as session:
        assert held_about(session, person(session, NURSE)) == {}
        for version in history(session, DIRECTORY):  # every version still reads
            parse_directory(version.content, origin(DIRECTORY, version.number))
        [kept] = session.scalars(select(ConsoleAction).where(ConsoleAction.action == "erasure"))
    assert kept.email == MANAGER
    assert NURSE not in kept.subject
    with serving(app) as client:
        assert_item_pages_work(client, app)


def assert_item_pages_work(client: httpx.Client, app: App) -> None:
    from tests.support.console import health_item, sign_in

    sign_in(client, app, MANAGER)
    page = client.get(f"/console/items/{health_item(app)}")
    assert page.status_code == 200


def test_an_address_or_a_name_is_matched_whole_never_inside_another() -> None:
    who = Person("al@health.example.org", frozenset({"Al Smith"}))
    pseudonym = Pseudonym("a former contact (1)", "erased.1@erased.example.org")
    text = ("sal@health.example.org, al@health.example.org. Al Smithson; al smith, "
            "al@health.example.org.uk")  # fmt: skip
    assert replaced(text, who, pseudonym) == (
        "sal@health.example.org, erased.1@erased.example.org. Al Smithson; a former contact "
        "(1), al@health.example.org.uk")  # fmt: skip


def test_someone_covering_is_in_the_directory_in_force(tmp_path: Path) -> None:
    text = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8") + (
        "cover:\n  - {person: designated.nurse@example.org, from: 2027-01-04, to: 2027-01-15,"
        " delegate: {name: Locum Nurse, email: locum.nurse@example.org}}\n")  # fmt: skip
    addresses, names = in_force(parse_directory(text, tmp_path / "directory.yaml"))
    assert "locum.nurse@example.org" in addresses
    assert "locum nurse" in names


def test_a_name_a_successor_shares_is_left_and_their_entry_untouched(app: App) -> None:
    partnership(app)
    code, output = run("directory", "replace", NURSE, SUCCESSOR, "--name", NAME,
                       "--by", MANAGER, "--reason", "retired")  # fmt: skip
    assert code == 0, output
    code, output = run("person", "erase", NURSE, "--by", MANAGER, "--reason", "six years")
    assert code == 0, output
    assert f"left as written: {NAME} (also the name of someone in the directory" in output
    with app.sessions() as session:
        [successor] = session.scalars(select(Contact).where(Contact.email == SUCCESSOR))
        assert successor.name == NAME
        assert anywhere(app, [NURSE]) == []


def plan_text(app: App) -> str:
    with app.sessions() as session:
        return str(session.execute(select(Action.text, Action.progress).order_by(Action.id)).all())


def test_a_posts_title_in_a_plan_is_left_and_the_plan_imports_again_unchanged(app: App) -> None:
    """The nurse's name is her post's title, which a plan's words use ("raised with the
    designated nurse"): erasing her leaves the plan as its document has it."""
    partnership(app)
    plan = EXAMPLES_DIR / "cap-2026.txt"
    run_import(app, plan)
    written = plan_text(app)
    assert "designated nurse" in written.lower()
    code, output = run("directory", "replace", NURSE, SUCCESSOR, "--name", "New Nurse",
                       "--by", MANAGER, "--reason", "retired")  # fmt: skip
    assert code == 0, output
    code, output = run("person", "erase", NURSE, "--by", MANAGER, "--reason", "six years")
    assert code == 0, output
    assert plan_text(app) == written
    [again] = run_import(app, plan)
    assert [(o.updated, o.retired) for o in again.outcomes] == [(0, 0)]
    assert anywhere(app, [NURSE]) == []


def test_after_an_erasure_the_address_is_in_no_database_file_nor_the_outbox(
    app: App, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite keeps the rows as they were in its write-ahead log until a checkpoint; the
    outbox holds the digests written to her."""
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("REMINDERS_OUTBOX_DIR", str(outbox))
    app.settings = app.settings.model_copy(update={"outbox_dir": outbox})
    partnership(app)
    with serving(app) as client:
        acted(app, client)
    assert [p for p in outbox.glob("*.eml") if NURSE.encode() in p.read_bytes()]
    code, output = run("directory", "replace", NURSE, SUCCESSOR, "--name", "New Nurse",
                       "--by", MANAGER, "--reason", "retired")  # fmt: skip
    assert code == 0, output
    with app.sessions() as session:  # a reader elsewhere, as the worker's, that has finished
        session.execute(select(Delivery.id)).all()
    code, output = run("person", "erase", NURSE, "--by", MANAGER, "--reason", "six years")
    assert code == 0, output
    assert "removed from the outbox:" in output
    assert [p.name for p in outbox.glob("*.eml") if NURSE.encode() in p.read_bytes()] == []
    if database_url.startswith("sqlite"):
        database = Path(make_url(database_url).database or "")
        wal = database.with_name(database.name + "-wal")
        assert not wal.exists() or NURSE.encode() not in wal.read_bytes()
        assert NURSE.encode() not in database.read_bytes()
