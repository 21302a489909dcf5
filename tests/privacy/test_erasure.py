"""A leaver erased: their address and names gone from every table, the bodies of their
digests removed, and the record of what was done intact (counts, dates, stage history,
events kept "by a former named contact of Health")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.privacy.test_subject_access import NAME, acted
from tests.support.console import MANAGER, NURSE, partnership
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY, history, origin, parse_directory
from worker.models import (
    Base,
    ConsoleAction,
    Delivery,
    ObligationEvent,
    StageChange,
)
from worker.privacy.subject_access import held_about, person

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
