"""Signing in with an organisation's account against panva's oidc-provider, the OpenID
Certified provider (tests/support/certified_oidc.py), as it comes: PKCE required, its own
login and consent pages, `email` only from UserInfo, RFC 9207's `iss` in every answer; and,
each changed only where a test says, Ed25519 keys and a token endpoint taking only
`client_secret_post`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.support.browser import looked_at, new_page
from tests.support.certified_oidc import Certified, certified_provider
from tests.support.console import MANAGER, csrf
from tests.support.oidc import path_of, query_of
from tests.support.services import free_port
from tests.support.web import serving
from worker.app import App
from worker.models import ConsoleSession
from worker.settings import load_settings

ACCOUNTS = {"bm": {"email": MANAGER, "email_verified": True},
            "unverified": {"email": MANAGER, "email_verified": False}}  # fmt: skip


@contextmanager
def console_and_provider(tmp_path: Path, **provider: Any) -> Iterator[tuple[App, Certified, int]]:
    """The console (not yet served) signing in with an oidc-provider started for it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with certified_provider(f"{base}/console/sign-in/with/test/back", ACCOUNTS,
                            **provider) as certified:  # fmt: skip
        oidc = {"name": "Test Council", "issuer": certified.url,
                "client_id": certified.client_id}  # fmt: skip
        app = App(load_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", oidc={"test": oidc},
                                oidc_client_secrets={"test": certified.secret},
                                public_base_url=base))  # fmt: skip
        app.initialise()
        try:
            yield app, certified, port
        finally:
            app.close()


def back_from(client: httpx.Client, certified: Certified, login: str) -> str:
    """Choose the provider's button and sign in there as `login`: its answer's location."""
    page = client.get("/console/sign-in")
    chosen = client.post("/console/sign-in/with/test", data={"csrftoken": csrf(page)})
    assert chosen.status_code == 303, chosen.text
    return certified.authorise(chosen.headers["location"], login)


def signed_in_with(app: App) -> list[tuple[str, str | None]]:
    with app.sessions() as session:
        rows = session.scalars(select(ConsoleSession).order_by(ConsoleSession.id))
        return [(r.email, r.signed_in_with) for r in rows]


def test_signing_in_in_chromium_with_the_providers_defaults(
    tmp_path: Path, browser: Browser
) -> None:
    with console_and_provider(tmp_path) as (app, _, port), serving(app, port):
        page = new_page(browser, f"http://127.0.0.1:{port}")
        page.goto("/console/items")
        page.get_by_role("button", name="Sign in with Test Council").click()
        page.get_by_placeholder("Enter any login").fill("bm")  # the provider's own pages
        page.get_by_placeholder("and password").fill("any")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()  # consent to openid email profile
        expect(page.get_by_role("heading", level=1)).to_have_text("Items")
        looked_at(page, "oidc-certified-01-signed-in")
        assert signed_in_with(app) == [(MANAGER, "test")]


def test_every_answer_names_the_provider_and_one_that_does_not_is_refused(
    tmp_path: Path,
) -> None:
    """RFC 9207, as oidc-provider promises in its discovery document."""
    with console_and_provider(tmp_path) as (app, certified, port), serving(app, port) as client:
        for iss in (None, certified.url.replace("localhost", "127.0.0.1")):
            back = back_from(client, certified, "bm")
            assert query_of(back)["iss"] == certified.url
            assert client.get(naming(back, iss)).status_code == 400
        assert signed_in_with(app) == []
        assert client.get(path_of(back_from(client, certified, "bm"))).status_code == 303
        assert signed_in_with(app) == [(MANAGER, "test")]


def naming(back: str, iss: str | None) -> str:
    """The path and query of answer `back` with `iss` as its issuer, or with none."""
    asked = {k: v for k, v in query_of(back).items() if k != "iss"}
    return f"{urlsplit(back).path}?{urlencode(asked | ({'iss': iss} if iss else {}))}"


def test_an_address_the_provider_has_not_verified_is_refused(tmp_path: Path) -> None:
    with console_and_provider(tmp_path) as (app, certified, port), serving(app, port) as client:
        answer = client.get(path_of(back_from(client, certified, "unverified")))
        assert answer.status_code == 400
        assert signed_in_with(app) == []


@pytest.mark.parametrize("algorithm", ["EdDSA", "Ed25519"])
def test_id_tokens_signed_with_ed25519(tmp_path: Path, algorithm: str) -> None:
    client_metadata = {"id_token_signed_response_alg": algorithm}
    with (
        console_and_provider(tmp_path, client=client_metadata, ed25519=True) as (app, cert, port),
        serving(app, port) as client,
    ):
        answer = client.get(path_of(back_from(client, cert, "bm")))
        assert answer.status_code == 303, answer.text
        assert signed_in_with(app) == [(MANAGER, "test")]


def test_a_token_endpoint_taking_only_client_secret_post(tmp_path: Path) -> None:
    with (
        console_and_provider(
            tmp_path, client={"token_endpoint_auth_method": "client_secret_post"},
            configuration={"clientAuthMethods": ["client_secret_post"]},
        ) as (app, certified, port),
        serving(app, port) as client,
    ):  # fmt: skip
        answer = client.get(path_of(back_from(client, certified, "bm")))
        assert answer.status_code == 303, answer.text
        assert signed_in_with(app) == [(MANAGER, "test")]
