"""A server process remembers a live console session for a few seconds (worker/signin/seen.py):
an ending made on the process is refused at once, one made elsewhere once the window passes.
The memory's clock is moved by hand; no test waits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from tests.support.console import MANAGER, NURSE, csrf, post, sign_in
from tests.support.web import serving
from worker.app import App
from worker.db import transaction
from worker.models import ConsoleSession
from worker.signin.seen import RECHECK_SECONDS, SEEN, Live, Seen
from worker.signin.sessions import end_all


class Clock:
    """Seconds, as `time.monotonic` counts them, that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """The clock of this process's memory of sessions, which starts empty."""
    moved = Clock()
    monkeypatch.setattr(SEEN, "clock", moved)
    SEEN.forget()
    yield moved
    SEEN.forget()


def mine(client: httpx.Client) -> httpx.Response:
    return client.get("/console/mine")


def refused(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(
        "/console/sign-in"
    )


def end_in_the_database(app: App, email: str) -> None:
    """End `email`'s sessions as another process would: in the database, nothing said here."""
    with app.engine.begin() as connection:
        connection.execute(
            update(ConsoleSession)
            .where(ConsoleSession.email == email)
            .values(ended_at=datetime.now(UTC), ended_why="ended elsewhere")
        )


def test_a_session_ended_on_this_process_is_refused_at_once(app: App, clock: Clock) -> None:
    with serving(app) as boss, serving(app) as nurse:
        sign_in(boss, app, MANAGER)
        sign_in(nurse, app, NURSE)
        assert mine(nurse).status_code == 200  # now remembered
        assert post(boss, "/console/people/end", "/console/people", email=NURSE).status_code == 303
        assert refused(mine(nurse))  # the clock has not moved
        sign_in(nurse, app, NURSE)
        assert mine(nurse).status_code == 200
        other = App(app.settings)  # another App of this process: the same memory
        with transaction(other.sessions) as session:
            end_all(session, NURSE, other.now(), "ended by a command")
        other.close()
        assert refused(mine(nurse))
        assert mine(boss).status_code == 200


def test_a_session_ended_elsewhere_is_refused_once_the_window_passes(
    app: App, clock: Clock
) -> None:
    with serving(app) as nurse:
        sign_in(nurse, app, NURSE)
        page = mine(nurse)
        assert page.status_code == 200
        end_in_the_database(app, NURSE)
        clock.now += RECHECK_SECONDS - 0.01
        assert mine(nurse).status_code == 200  # remembered: still shown, within the window
        change = nurse.post("/console/preferences", data={"csrftoken": csrf(page),
                                                          "digest": "daily"})  # fmt: skip
        assert refused(change)  # a POST always reads the session
        clock.now += 0.01
        assert refused(mine(nurse))


def test_a_session_read_again_when_the_window_passes_is_remembered_again(
    app: App, clock: Clock
) -> None:
    with serving(app) as nurse:
        sign_in(nurse, app, NURSE)
        assert mine(nurse).status_code == 200
        clock.now += RECHECK_SECONDS
        assert mine(nurse).status_code == 200  # read again, still live
        end_in_the_database(app, NURSE)
        clock.now += RECHECK_SECONDS - 0.01
        assert mine(nurse).status_code == 200
        clock.now += 0.01
        assert refused(mine(nurse))


def test_an_ending_in_a_savepoint_is_forgotten_when_the_transaction_ends(
    app: App, clock: Clock
) -> None:
    live = Live(1, NURSE, datetime.now(UTC), datetime.now(UTC), None)
    with app.sessions() as session, session.begin():
        SEEN.remember("a token's hash", live, SEEN.mark())
        with session.begin_nested():
            end_all(session, NURSE, datetime.now(UTC), "test")
        assert SEEN.recall("a token's hash") == live  # the savepoint is not the commit
    assert SEEN.recall("a token's hash") is None


LIVE = Live(1, NURSE, datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC),
            None)  # fmt: skip


def test_a_read_begun_before_an_ending_is_not_remembered() -> None:
    clock = Clock()
    seen = Seen(clock)
    since = seen.mark()  # a request begins to read the session …
    seen.forget()  # … an ending commits on this process …
    seen.remember("hash", LIVE, since)  # … and what the request read is stale
    assert seen.recall("hash") is None
    seen.remember("hash", LIVE, seen.mark())
    assert seen.recall("hash") == LIVE


def test_the_window_is_counted_from_before_the_read() -> None:
    clock = Clock()
    seen = Seen(clock)
    since = seen.mark()
    clock.now += 1.0  # the read took a second
    seen.remember("hash", LIVE, since)
    clock.now += RECHECK_SECONDS - 1.0
    assert seen.recall("hash") is None
