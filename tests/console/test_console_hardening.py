"""The console's second walls: whose address is believed, where a form may come from, whose
session a form token belongs to, and a double confirm."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.console.test_console_imports import GOOD, actions, confirm, upload
from tests.support.console import (
    MANAGER,
    NURSE,
    csrf,
    health_item,
    link_token,
    partnership,
    sign_in,
)
from tests.support.web import serve_process, serving
from worker.app import App
from worker.models import ConsoleSession, ObligationEvent

store = importlib.import_module("worker.importers.store")  # the package's `store` is a function


def sign_in_asks(client: httpx.Client, forwarded: list[str]) -> list[int]:
    """Sign-in requests for the nurse, each claiming another address."""
    token = csrf(client.get("/console/sign-in"))
    return [
        client.post("/console/sign-in", data={"csrftoken": token, "email": NURSE},
                    headers={"X-Forwarded-For": address}).status_code
        for address in forwarded
    ]  # fmt: skip


def test_a_forwarded_address_is_believed_from_no_one_by_default(app: App, tmp_path: Path) -> None:
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url,
           "REMINDERS_SIGN_IN_RATE_PER_CLIENT": "3/hour",
           "REMINDERS_OUTBOX_DIR": str(tmp_path / "outbox")}  # fmt: skip
    forged = [f"203.0.113.{n}" for n in range(1, 5)]
    with serve_process(env, tmp_path / "serve.log") as client:
        assert sign_in_asks(client, forged) == [200, 200, 200, 429]  # one client: this one
        token = link_token(app, MANAGER)
        offer = client.get(f"/console/sign-in/{token}")
        client.post(f"/console/sign-in/{token}", data={"csrftoken": csrf(offer)},
                    headers={"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
    with app.sessions() as session:
        recorded = session.scalars(select(ConsoleSession.client)).all()
    assert list(recorded) == ["127.0.0.1"]


def test_a_forwarded_address_is_believed_from_a_proxy_named_in_the_settings(
    app: App, tmp_path: Path
) -> None:
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url,
           "REMINDERS_SIGN_IN_RATE_PER_CLIENT": "3/hour",
           "REMINDERS_OUTBOX_DIR": str(tmp_path / "outbox"),
           "REMINDERS_FORWARDED_ALLOW_IPS": "127.0.0.1"}  # fmt: skip
    forged = [f"203.0.113.{n}" for n in range(1, 5)]
    with serve_process(env, tmp_path / "serve.log") as client:
        assert sign_in_asks(client, forged) == [200, 200, 200, 200]  # four clients
        assert sign_in_asks(client, ["203.0.113.1"] * 3) == [200, 200, 429]  # the first again


def notes(app: App) -> int:
    with app.sessions() as session:
        return len(
            session.scalars(select(ObligationEvent).where(ObligationEvent.kind == "noted")).all()
        )


def test_a_console_post_from_another_origin_is_refused_with_a_good_token(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, NURSE)
        page = f"/console/items/{health_item(app)}"
        shown = client.get(page)
        token = csrf(shown)
        # A browser names the origin of a form on a page with no-referrer as `null`.
        assert shown.headers["referrer-policy"] == "same-origin"

        def note(origin: str | None) -> int:
            headers = {"Origin": origin} if origin is not None else {}
            answer = client.post(f"{page}/note", data={"csrftoken": token, "note": "on it"},
                                 headers=headers)  # fmt: skip
            return answer.status_code

        before = notes(app)
        assert [note("https://evil.example"), note("null"), note("http://localhost:1")] == [
            403, 403, 403
        ]  # fmt: skip
        assert notes(app) == before
        own = str(client.base_url).rstrip("/")
        public = app.settings.public_base_url.rstrip("/")
        assert [note(own), note(public.upper()), note(None)] == [303, 303, 303]
        assert notes(app) == before + 3


def test_a_form_token_from_another_browser_is_refused_with_this_session(app: App) -> None:
    """An attacker's own valid token and cookie, planted beside the victim's session."""
    partnership(app)
    with serving(app) as attacker, serving(app) as victim:
        own = csrf(attacker.get("/console/sign-in"))  # a token the attacker was given
        planted = attacker.cookies["csrftoken"]
        csrf(victim.get("/console/sign-in"))
        brought = victim.cookies["csrftoken"]
        sign_in(victim, app, NURSE)
        assert victim.cookies["csrftoken"] != brought  # a fresh one with the session
        page = f"/console/items/{health_item(app)}"
        count = notes(app)
        plant(victim, planted)
        forged = victim.post(f"{page}/note", data={"csrftoken": own, "note": "planted"})
        assert forged.status_code == 403
        assert notes(app) == count
        sign_in(victim, app, NURSE)  # a new session, with its own token again
        assert victim.post(f"{page}/note", data={"csrftoken": csrf(victim.get(page)),
                                                 "note": "mine"}).status_code == 303  # fmt: skip
        assert notes(app) == count + 1


def plant(client: httpx.Client, token: str) -> None:
    """`token` as the browser's form-token cookie, in place of its own."""
    [mine] = [c for c in client.cookies.jar if c.name == "csrftoken"]
    client.cookies.set("csrftoken", token, domain=mine.domain, path=mine.path)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: below
def test_the_same_confirm_twice_at_once_answers_409_and_imports_once(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each has looked for the plan and found none before either stores it. Released together
    # before the look, the first could commit before the second looked, and the second would
    # then find the plan and rightly change nothing (303, 303).
    both = threading.Barrier(2, timeout=20)

    def together(session: Any, title: str) -> Any:
        found = looked(session, title)
        both.wait()
        return found

    looked = store.find_plan
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("plan.csv", GOOD))
        monkeypatch.setattr(store, "find_plan", together)  # the confirms, not the preview
        answers = confirm_twice_at_once(client, preview)
        assert sorted(a.status_code for a in answers) == [303, 409]
        [clash] = [a for a in answers if a.status_code == 409]
        assert "Already imported" in clash.text
    assert actions(app) == ["1.1", "1.2"]  # once


def confirm_twice_at_once(client: httpx.Client, preview: httpx.Response) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    presses = [threading.Thread(target=lambda: answers.append(confirm(client, preview)))
               for _ in range(2)]  # fmt: skip
    for press in presses:
        press.start()
    for press in presses:
        press.join(60)
    return answers


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_same_confirm_twice_at_once_on_sqlite_imports_once(app: App) -> None:
    """On SQLite an import takes the database's one write lock before it reads anything
    (BEGIN IMMEDIATE, worker/importers/batch.py), so the two cannot both look before either
    stores, as they do on PostgreSQL above: the second waits for the first to commit, then
    finds the plan stored and changes nothing. Neither fails; the plan is stored once."""
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("plan.csv", GOOD))
        answers = confirm_twice_at_once(client, preview)
        assert len(answers) == 2
        assert {a.status_code for a in answers} <= {303, 409}
    assert actions(app) == ["1.1", "1.2"]  # once
