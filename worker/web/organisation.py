"""Signing in to the console with an organisation's account (OpenID Connect).

    POST /console/sign-in/with/{provider}        begin: a flow, its cookie, off to the provider
    GET  /console/sign-in/with/{provider}/back   the provider's answer: a session, or a refusal

The answer is a GET because the protocol sends the browser back with one; it acts only for
the browser that began the flow (its cookie, bound to the state), once, within ten minutes,
so a link to it from anywhere else changes nothing. The person is whoever the directory has
at the address the provider vouches for; anyone else sees one page, whatever the address.
The answer must come from the provider the flow began with (RFC 9207's `iss`, when given or
promised), checked before anything else it says.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from urllib.parse import urlsplit

from limits import parse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.console.people import person_of
from worker.db import transaction
from worker.settings import TENANT, Settings
from worker.signin.flows import FLOW_LIFE, begin_flow, secrets_of, take_flow
from worker.signin.oidc import Organisations, SignInRefusedError
from worker.signin.sessions import begin
from worker.web.context import problem, web_of
from worker.web.guard import (
    client_of,
    new_form_token,
    secure,
    signed_in,
)

log = logging.getLogger(__name__)

FLOW_COOKIE = "console_flow"
WITH = "/console/sign-in/with/"


def back_url(settings: Settings, key: str) -> str:
    """Where the provider sends the browser back to (registered with the provider)."""
    return f"{settings.public_base_url.rstrip('/')}{WITH}{key}/back"


def form_targets(organisations: Organisations) -> list[str]:
    """The origins the sign-in page's buttons lead to, for its Content-Security-Policy's
    form-action (a browser holds a form's redirects to it): each provider's authorisation
    endpoint, as discovered (at most hourly), and its issuer's."""
    found = set()
    for key, provider in organisations.settings.oidc.items():
        urls = [provider.issuer.replace(TENANT, "x")]
        with suppress(SignInRefusedError):  # unreachable now: its button says so when pressed
            urls.append(organisations.discovered(key).authorization_endpoint)
        found |= {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}
    return sorted(found)


async def start(request: Request) -> Response:
    web, key, client = web_of(request), request.path_params["provider"], client_of(request)
    settings = web.app.settings
    if key not in settings.oidc:
        return problem(404, "Not found", "There is no such way to sign in.")
    if not web.limiter.hit(parse(settings.sign_in_rate_per_client), client.address or "-"):
        return problem(429, "Too many requests", "Please wait a while before asking again.")

    def flow() -> tuple[str, str]:
        web.organisations.discovered(key)  # before anything is kept: the provider answers
        with transaction(web.app.sessions) as session:
            state, browser = begin_flow(session, key, web.app.now())
        url = web.organisations.authorisation_url(key, back_url(settings, key), state,
                                                  secrets_of(browser))  # fmt: skip
        return url, browser

    try:
        url, browser = await run_in_threadpool(flow)
    except SignInRefusedError as exc:
        log.warning("organisation sign-in %s unavailable: %s", key, exc)
        return unavailable(settings.oidc[key].name)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLOW_COOKIE, browser, max_age=int(FLOW_LIFE.total_seconds()),
                        path=f"{WITH}{key}/", secure=secure(settings), httponly=True,
                        samesite="lax")  # fmt: skip
    return response


async def back(request: Request) -> Response:
    web, key, client = web_of(request), request.path_params["provider"], client_of(request)
    app, settings, asked = web.app, web.app.settings, request.query_params
    browser = request.cookies.get(FLOW_COOKIE, "")
    forms = new_form_token(settings)

    def finish() -> str | None:
        now = app.now()
        with transaction(app.sessions) as session:
            if not take_flow(session, key, asked.get("state", ""), browser, now):
                raise SignInRefusedError("no flow of this browser has that state (or it is over)")
        web.organisations.answered_by(key, asked.get("iss"))  # RFC 9207, errors too
        if "error" in asked:
            raise SignInRefusedError(f"the provider answered {asked['error']!r}")
        email = web.organisations.address(key, asked.get("code", ""), back_url(settings, key),
                                          secrets_of(browser), now)  # fmt: skip
        if person_of(app.directory(), email, app.today()) is None:
            log.info("organisation sign-in %s: an address not in the directory", key)
            return None
        with transaction(app.sessions) as session:
            return begin(session, email, now, client, forms, signed_in_with=key)

    if key not in settings.oidc:
        return problem(404, "Not found", "There is no such way to sign in.")
    try:
        cookie = await run_in_threadpool(finish)
    except SignInRefusedError as exc:
        log.warning("organisation sign-in %s refused: %s", key, exc)
        return not_finished()
    response = signed_in(request, cookie, forms, settings) if cookie else unknown()
    response.delete_cookie(FLOW_COOKIE, path=f"{WITH}{key}/", secure=secure(settings),
                           httponly=True, samesite="lax")  # fmt: skip
    return response


def unknown() -> Response:
    return problem(
        403,
        "You cannot use this console",
        "Your organisation's account was accepted, but the partnership's directory has no one "
        "with its e-mail address.",
        "If you work with the partnership, ask its business manager to add you.",
    )


def not_finished() -> Response:
    return problem(
        400,
        "Your sign-in could not be finished",
        "Your organisation's sign-in did not come back as expected, so you have not been "
        "signed in. This happens when a sign-in is started in another window, takes longer "
        "than ten minutes, or is refused by your organisation.",
        "Start again from the sign-in page.",
    )


def unavailable(name: str) -> Response:
    return problem(
        503,
        f"Sign in with {name} is not available just now",
        "The service could not reach your organisation's sign-in.",
        "Please try again later, or sign in with an e-mail link.",
    )
