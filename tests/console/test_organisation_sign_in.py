"""Signing in with an organisation's account, against a real OpenID Connect provider started
here (tests/support/oidc.py): the good path, and each way a sign-in must be refused; the
address from UserInfo, RFC 9207's `iss`, and the client authentication discovery lists.
(tests/console/test_certified_provider.py tries the same against oidc-provider.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from tests.conftest import new_version
from tests.support.browser import looked_at, new_page
from tests.support.console import CSRF, MANAGER, NURSE, csrf, link_token
from tests.support.oidc import (
    CLIENT_SECRET,
    Faults,
    Provider,
    oidc_provider,
    path_of,
    query_of,
)
from tests.support.services import free_port
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY
from worker.models import ConsoleSession, SignInFlow
from worker.settings import load_settings

CLIENT_ID = "partnership-console"
STRANGER = "someone.else@example.org"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture(autouse=True)
def provider_behaves(provider: Provider) -> Iterator[None]:
    yield
    provider.faults = Faults()


def app_for(database_url: str, provider: Provider, **settings: Any) -> App:
    oidc = {"name": "Test Council", "issuer": provider.url, "client_id": CLIENT_ID}
    oidc.update(settings.pop("oidc", {}))
    app = App(load_settings(database_url=database_url, oidc={"test": oidc},
                            oidc_client_secrets={"test": CLIENT_SECRET}, **settings))  # fmt: skip
    app.initialise()
    return app


@pytest.fixture
def app(database_url: str, provider: Provider) -> Iterator[App]:
    application = app_for(database_url, provider)
    yield application
    application.close()


@pytest.fixture
def sqlite_app(tmp_path: Path, provider: Provider) -> Iterator[App]:
    application = app_for(f"sqlite:///{tmp_path / 'reminders.db'}", provider)
    yield application
    application.close()


def to_provider(client: httpx.Client) -> str:
    """Choose "Sign in with Test Council": the provider's address the browser is sent to."""
    page = client.get("/console/sign-in")
    assert "Sign in with Test Council" in page.text
    chosen = client.post("/console/sign-in/with/test", data={"csrftoken": csrf(page)})
    assert chosen.status_code == 303, chosen.text
    return chosen.headers["location"]


def signing_in(client: httpx.Client, provider: Provider, sub: str) -> httpx.Response:
    """The whole way round, as `sub` at the provider: our answer to its redirect back."""
    return client.get(path_of(provider.authorise(to_provider(client), sub)))


def sessions(app: App) -> list[ConsoleSession]:
    with app.sessions() as session:
        return list(session.scalars(select(ConsoleSession).order_by(ConsoleSession.id)))


def refused(answer: httpx.Response, app: App) -> None:
    assert answer.status_code == 400, answer.text
    assert "Your sign-in could not be finished" in answer.text
    assert "set-cookie" not in answer.headers or "console=" not in answer.headers["set-cookie"]
    assert sessions(app) == []


def test_a_good_sign_in_begins_a_new_session_each_time(app: App, provider: Provider) -> None:
    provider.person("bm-1", email=MANAGER.upper(), email_verified=True)
    with serving(app) as client:
        asked = query_of(to_provider(client))
        assert asked["client_id"] == CLIENT_ID
        assert asked["code_challenge_method"] == "S256"
        assert len(asked["state"]) >= 43
        assert len(asked["nonce"]) >= 43
        assert (
            asked["redirect_uri"]
            == app.settings.public_base_url + "/console/sign-in/with/test/back"
        )
        first = signing_in(client, provider, "bm-1")
        assert first.status_code == 303
        assert first.headers["location"] == "/console/"
        assert "Signed in as" in client.get("/console/").text
        cookie = client.cookies["console"]
        again = signing_in(client, provider, "bm-1")
        assert again.status_code == 303
        assert client.cookies["console"] != cookie
    rows = sessions(app)
    assert [(r.email, r.signed_in_with) for r in rows] == [(MANAGER, "test")] * 2
    with app.sessions() as session:
        # Three begun, two taken: the first only looked at (its answer never came).
        assert session.scalar(select(func.count()).where(SignInFlow.taken_at.is_(None))) == 1


def test_the_answer_sent_again_is_refused(app: App, provider: Provider) -> None:
    provider.person("bm-2", email=MANAGER, email_verified=True)
    with serving(app) as client:
        back = path_of(provider.authorise(to_provider(client), "bm-2"))
        flow = client.cookies["console_flow"]
        assert client.get(back).status_code == 303
        client.cookies.clear()  # the same browser's flow cookie, and only it, sent again
        client.cookies.set("console_flow", flow, path="/console/sign-in/with/test/")
        again = client.get(back)
        assert again.status_code == 400
        assert "could not be finished" in again.text
    assert len(sessions(app)) == 1


def test_a_state_not_made_for_this_browser_is_refused(sqlite_app: App, provider: Provider) -> None:
    provider.person("bm-3", email=MANAGER, email_verified=True)
    with serving(sqlite_app) as ours, serving(sqlite_app) as theirs:
        back = provider.authorise(to_provider(ours), "bm-3")
        state = query_of(back)["state"]
        refused(ours.get(path_of(back).replace(state, state[:-2] + "xx")), sqlite_app)
        refused(theirs.get(path_of(back)), sqlite_app)  # another browser: no flow cookie
        assert ours.get(path_of(back)).status_code == 303  # the flow's own browser, still


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ({"iss": "http://localhost:1/elsewhere"}, "wrong issuer"),
        ({"aud": "another-client"}, "wrong audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "several audiences, no azp"),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 4200}, "expired"),
        ({"nonce": "a-nonce-made-for-another-sign-in-0123456789ab"}, "another nonce"),
    ],
)
def test_an_id_token_not_for_this_sign_in_is_refused(
    sqlite_app: App, provider: Provider, fault: dict[str, Any], why: str
) -> None:
    provider.person("bm-4", email=MANAGER, email_verified=True)
    provider.faults.claims.update(fault)
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "bm-4"), sqlite_app)


def test_a_nonce_replayed_from_an_earlier_sign_in_is_refused(
    sqlite_app: App, provider: Provider
) -> None:
    provider.person("bm-5", email=MANAGER, email_verified=True)
    with serving(sqlite_app) as client:
        assert signing_in(client, provider, "bm-5").status_code == 303
        provider.faults.claims["nonce"] = provider.issued[-1]["nonce"]
    with serving(sqlite_app) as client:
        answer = signing_in(client, provider, "bm-5")
    assert answer.status_code == 400
    assert len(sessions(sqlite_app)) == 1


def test_a_token_signed_with_a_key_the_provider_does_not_publish_is_refused(
    sqlite_app: App, provider: Provider
) -> None:
    provider.person("bm-6", email=MANAGER, email_verified=True)
    provider.faults.unpublished_key = True
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "bm-6"), sqlite_app)


def test_an_address_the_provider_has_not_verified_is_refused(
    sqlite_app: App, provider: Provider
) -> None:
    provider.person("bm-7", email=MANAGER, email_verified=False)
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "bm-7"), sqlite_app)
    provider.person("bm-8", email=MANAGER, preferred_username=MANAGER)  # not trusted for it
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "bm-8"), sqlite_app)


def test_a_username_is_the_address_where_the_provider_is_trusted_for_it(
    tmp_path: Path, provider: Provider
) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", provider,
                  oidc={"trust_username": True, "domains": ["example.org"]})  # fmt: skip
    provider.person("entra-1", preferred_username=NURSE.title())
    with serving(app) as client:
        assert signing_in(client, provider, "entra-1").status_code == 303
    assert [r.email for r in sessions(app)] == [NURSE]
    app.close()


def test_an_address_not_in_the_directory_sees_one_page(sqlite_app: App, provider: Provider) -> None:
    provider.person("x-1", email=STRANGER, email_verified=True)
    with serving(sqlite_app) as client:
        answer = signing_in(client, provider, "x-1")
    assert answer.status_code == 403
    assert "You cannot use this console" in answer.text
    assert STRANGER not in answer.text
    assert sessions(sqlite_app) == []


def test_someone_removed_while_signed_in_is_signed_out(sqlite_app: App, provider: Provider) -> None:
    provider.person("nurse", email=NURSE, email_verified=True)
    with serving(sqlite_app) as client:
        assert signing_in(client, provider, "nurse").status_code == 303
        assert client.get("/console/mine").status_code == 200
        text = (sqlite_app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
        kept = [line for line in text.splitlines() if NURSE not in line]
        new_version(sqlite_app, DIRECTORY, "\n".join(kept) + "\n")
        gone = client.get("/console/mine")
        assert gone.headers["location"] == "/console/sign-in?why=removed"
        assert signing_in(client, provider, "nurse").status_code == 403
    [row] = sessions(sqlite_app)
    assert row.ended_why == "removed from the directory"


def test_a_provider_naming_another_issuer_is_not_used(sqlite_app: App, provider: Provider) -> None:
    provider.faults.issuer = "http://localhost:1"
    with serving(sqlite_app) as client:
        page = client.get("/console/sign-in")
        answer = client.post("/console/sign-in/with/test", data={"csrftoken": csrf(page)})
    assert answer.status_code == 503
    assert "not available just now" in answer.text
    with sqlite_app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SignInFlow)) == 0


@pytest.mark.parametrize(
    ("tenant", "issued_by", "signed_in"),
    [("tenant-a", "tenant-a", True), ("tenant-b", "tenant-b", False),
     ("tenant-a", "tenant-b", False)],  # an allowed tid in a token of another tenant
)  # fmt: skip
def test_a_registration_for_several_tenants_takes_the_tenants_allowed(
    tmp_path: Path, provider: Provider, tenant: str, issued_by: str, signed_in: bool
) -> None:
    template = provider.url + "/{tenantid}/v2.0"
    app = app_for(
        f"sqlite:///{tmp_path / 'r.db'}", provider,
        oidc={"issuer": template, "tenants": ["tenant-a"],
              "discovery_url": provider.url + "/.well-known/openid-configuration"},
    )  # fmt: skip
    provider.faults.issuer = template
    provider.faults.claims.update(iss=f"{provider.url}/{issued_by}/v2.0", tid=tenant)
    provider.person("t-1", email=MANAGER, email_verified=True)
    with serving(app) as client:
        answer = signing_in(client, provider, "t-1")
    assert (answer.status_code == 303) is signed_in
    assert len(sessions(app)) == int(signed_in)
    app.close()


def test_roles_that_must_use_their_organisation_get_no_link(
    tmp_path: Path, provider: Provider
) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", provider, oidc={"domains": ["example.org"]},
                  organisation_sign_in_for=["business manager"])  # fmt: skip
    provider.person("bm-9", email=MANAGER, email_verified=True)
    with serving(app) as client:
        token = link_token(app, MANAGER)
        offer = client.get(f"/console/sign-in/{token}")
        used = client.post(f"/console/sign-in/{token}", data={"csrftoken": csrf(offer)})
        assert used.status_code == 410
        nurse = link_token(app, NURSE)  # a role not listed still signs in by link
        offer = client.get(f"/console/sign-in/{nurse}")
        assert client.post(f"/console/sign-in/{nurse}",
                           data={"csrftoken": csrf(offer)}).status_code == 303  # fmt: skip
        assert signing_in(client, provider, "bm-9").status_code == 303
    assert [r.signed_in_with for r in sessions(app)] == ["e-mail link", "test"]
    app.close()


def test_no_link_is_printed_for_a_place_that_must_use_its_organisation(
    tmp_path: Path, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    oidc = {"name": "Test Council", "issuer": provider.url, "client_id": CLIENT_ID,
            "domains": ["example.org"]}  # fmt: skip
    app_for(url, provider, oidc=oidc, organisation_sign_in_for=["business manager"]).close()
    monkeypatch.setenv("REMINDERS_DATABASE_URL", url)
    monkeypatch.setenv("REMINDERS_OIDC", json.dumps({"test": oidc}))
    monkeypatch.setenv("REMINDERS_OIDC_CLIENT_SECRETS__TEST", CLIENT_SECRET)
    monkeypatch.setenv("REMINDERS_ORGANISATION_SIGN_IN_FOR", '["business manager"]')
    refused = CliRunner().invoke(main, ["console", "sign-in-link", MANAGER])
    assert refused.exit_code == 1
    assert "signs in only with their organisation" in refused.output
    given = CliRunner().invoke(main, ["console", "sign-in-link", NURSE])
    assert given.exit_code == 0, given.output
    assert "/console/sign-in/" in given.output


def test_the_sign_in_page_may_send_its_forms_to_the_provider(
    sqlite_app: App, provider: Provider
) -> None:
    with serving(sqlite_app) as client:
        page = client.get("/console/sign-in")
    assert f"form-action 'self' {provider.url};" in page.headers["content-security-policy"]
    assert CSRF.search(page.text)


def test_signing_in_with_the_organisation_in_a_browser(
    tmp_path: Path, provider: Provider, browser: Browser
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", provider, public_base_url=base)
    provider.person("bm-browser", email=MANAGER, email_verified=True)
    with serving(app, port):
        page = new_page(browser, base)
        page.goto("/console/items")  # asked for before signing in: shown after
        looked_at(page, "oidc-01-sign-in")
        page.get_by_role("button", name="Sign in with Test Council").click()
        page.get_by_placeholder("sub").fill("bm-browser")
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Items")
        looked_at(page, "oidc-02-signed-in")
        page.get_by_role("link", name="People signed in").click()
        expect(page.get_by_role("cell", name="Test Council")).to_be_visible()
        looked_at(page, "oidc-03-people")
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert [r.signed_in_with for r in sessions(app)] == ["test"]
    app.close()


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
def test_a_token_not_signed_with_the_providers_keys_is_refused(
    sqlite_app: App, provider: Provider, algorithm: str
) -> None:
    provider.person("alg-1", email=MANAGER, email_verified=True)
    provider.faults.algorithm = algorithm  # HS256 keyed with the client's own secret
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "alg-1"), sqlite_app)


def test_several_audiences_with_ours_as_azp_are_accepted(
    sqlite_app: App, provider: Provider
) -> None:
    provider.person("azp-1", email=MANAGER, email_verified=True)
    provider.faults.claims.update(aud=[CLIENT_ID, "an-api"], azp=CLIENT_ID)
    with serving(sqlite_app) as client:
        assert signing_in(client, provider, "azp-1").status_code == 303


def test_a_sign_in_denied_at_the_provider_is_not_finished(
    sqlite_app: App, provider: Provider
) -> None:
    with serving(sqlite_app) as client:
        back = provider.authorise(to_provider(client), "anyone", deny=True)
        assert query_of(back)["error"] == "access_denied"
        refused(client.get(path_of(back)), sqlite_app)


def test_an_address_outside_the_providers_domains_is_refused(
    tmp_path: Path, provider: Provider
) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'r.db'}", provider,
                  oidc={"domains": ["health.example.org"]})  # fmt: skip
    provider.person("dom-1", email=MANAGER, email_verified=True)  # example.org: the parent
    with serving(app) as client:
        refused(signing_in(client, provider, "dom-1"), app)
    app.close()


def test_an_address_only_userinfo_gives_is_read_from_it(
    sqlite_app: App, provider: Provider
) -> None:
    """OpenID Connect Core 5.4: claims asked for by scope may come only from UserInfo."""
    provider.person("ui-1", email=MANAGER, email_verified=True)
    provider.faults.without = {"email", "email_verified"}
    with serving(sqlite_app) as client:
        assert signing_in(client, provider, "ui-1").status_code == 303
    assert "email" not in provider.issued[-1]
    assert [r.email for r in sessions(sqlite_app)] == [MANAGER]


@pytest.mark.parametrize(
    "userinfo",
    [{"sub": "someone-else"}, {"email_verified": False}],
    ids=["another subject (Core 5.3.2)", "not verified"],
)
def test_userinfo_of_another_subject_or_unverified_is_refused(
    sqlite_app: App, provider: Provider, userinfo: dict[str, Any]
) -> None:
    provider.person("ui-2", email=MANAGER, email_verified=True)
    provider.faults.without = {"email", "email_verified"}
    provider.faults.userinfo = userinfo
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "ui-2"), sqlite_app)


@pytest.mark.parametrize(
    ("names_issuer", "answer_iss", "signed_in"),
    [(True, "itself", True), (True, None, False), (True, "http://localhost:1", False),
     (False, "http://localhost:1", False), (False, None, True)],
    ids=["promised and named", "promised, none named", "promised, another named (a mix-up)",
         "not promised, another named", "not promised, none named"],
)  # fmt: skip
def test_the_authorisation_answer_must_name_the_provider_rfc_9207(
    sqlite_app: App, provider: Provider, names_issuer: bool, answer_iss: str | None,
    signed_in: bool,
) -> None:  # fmt: skip
    provider.person("iss-1", email=MANAGER, email_verified=True)
    provider.faults.names_issuer = names_issuer
    provider.faults.answer_iss = provider.url if answer_iss == "itself" else answer_iss
    with serving(sqlite_app) as client:
        answer = signing_in(client, provider, "iss-1")
        if signed_in:
            assert answer.status_code == 303
        else:
            refused(answer, sqlite_app)


@pytest.mark.parametrize(
    ("listed", "used"),
    [(["client_secret_post"], "client_secret_post"),
     (["client_secret_jwt", "client_secret_post", "client_secret_basic"], "client_secret_basic"),
     (None, "client_secret_basic")],
    ids=["only post", "basic among others", "none listed: Discovery's default"],
)  # fmt: skip
def test_the_client_authenticates_as_discovery_lists(
    sqlite_app: App, provider: Provider, listed: list[str] | None, used: str
) -> None:
    provider.person("auth-1", email=MANAGER, email_verified=True)
    provider.faults.auth_methods = listed  # and the token endpoint refuses any other
    with serving(sqlite_app) as client:
        assert signing_in(client, provider, "auth-1").status_code == 303
    assert provider.authenticated_with[-1] == used


def test_a_token_endpoint_taking_no_client_secret_is_not_sent_one(
    sqlite_app: App, provider: Provider
) -> None:
    provider.person("auth-2", email=MANAGER, email_verified=True)
    provider.faults.auth_methods = ["private_key_jwt"]
    before = len(provider.authenticated_with)
    with serving(sqlite_app) as client:
        refused(signing_in(client, provider, "auth-2"), sqlite_app)
    assert len(provider.authenticated_with) == before
