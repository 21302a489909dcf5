"""Signing in to the console by e-mail link, and signing out.

    GET  /console/sign-in            the form: your e-mail address
    POST /console/sign-in            send a link, if the address is in the directory
    GET  /console/sign-in/{token}    a Sign in button (opening a link changes nothing)
    POST /console/sign-in/{token}    use the link: a session, and its cookie
    POST /console/sign-out           end this browser's session
    POST /console/sign-out-everywhere  end every session and unused link of this person

The answer to a request for a link is the same page whether or not the address is known,
and the message is sent after the answer, so neither its words nor its timing tell. Each
address may be sent `sign_in_rate_per_address` links, and each client may ask
`sign_in_rate_per_client` times; past that nothing is sent (the page still reads the same
for an address) or the client is told to wait.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from limits import parse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.app import App
from worker.console.people import person_of
from worker.db import transaction
from worker.mail.message import parse_address
from worker.mail.transports import transport_for
from worker.models import ConsoleSession
from worker.signin.links import Letter, link_url, new_link, redeem, sign_in_message, usable
from worker.signin.sessions import begin, end, end_all
from worker.web.context import page, problem, web_of
from worker.web.guard import (
    RefusedError,
    clear_session_cookie,
    client_of,
    csrf_of,
    form_of,
    new_form_token,
    signed_in,
    visiting,
)
from worker.web.organisation import form_targets

log = logging.getLogger(__name__)

LINK = "e-mail link"  # how a session began, beside the organisation sign-ins' keys

WHY = {
    "expired": "Your session has ended. Please sign in again.",
    "removed": "You are no longer in the partnership's directory, so you have been signed out.",
    "signed-out": "You have signed out.",
    "everywhere": "You have signed out on every device.",
}


async def form(request: Request) -> Response:
    why = WHY.get(request.query_params.get("why", ""), "")
    return await sign_in_page(request, 200, notice=why, email="", error="")


async def sign_in_page(request: Request, status: int, **context: str) -> Response:
    """The sign-in page: the organisation sign-ins' buttons, then the e-mail form."""
    web = web_of(request)
    providers = [(key, provider.name) for key, provider in web.app.settings.oidc.items()]
    response = page("console/sign_in.html", status, csrf=csrf_of(request), providers=providers,
                    **context)  # fmt: skip
    policy = response.headers["content-security-policy"]
    found = await run_in_threadpool(form_targets, web.organisations) if providers else []
    targets = " ".join(["'self'", *found])
    response.headers["content-security-policy"] = policy.replace(
        "form-action 'self'", f"form-action {targets}"
    )
    return response


async def ask(request: Request) -> Response:
    web, fields, client = web_of(request), await form_of(request), client_of(request)
    email = fields.get("email", "").strip()[:320]
    try:
        parse_address(email, what="e-mail")
    except ValueError:
        error = "Enter your e-mail address, like name@example.org."
        return await sign_in_page(request, 422, notice="", email=email, error=error)
    settings = web.app.settings
    if not web.limiter.hit(parse(settings.sign_in_rate_per_client), client.address or "-"):
        return problem(429, "Too many requests", "Please wait a while before asking again.")
    task = None
    if web.limiter.hit(parse(settings.sign_in_rate_per_address), "address:" + email.lower()):
        task = BackgroundTask(send_link, web.app, email)
    response = page("console/link_sent.html", email=email)
    response.background = task
    return response


def send_link(app: App, email: str) -> None:
    """Make and send a link if `email` is someone in the directory; otherwise nothing."""
    try:
        person = person_of(app.directory(), email, app.today())
        settings, now = app.settings, app.now()
        if person is None or person.needs_organisation(settings.organisation_sign_in_for):
            return
        minutes = settings.sign_in_valid_minutes
        with transaction(app.sessions) as session:
            token = new_link(session, person.email, now, timedelta(minutes=minutes))
        letter = Letter(person.name, person.email, link_url(settings, token), minutes,
                        app.partnership_label())  # fmt: skip
        transport = transport_for(settings)
        try:
            transport.send(sign_in_message(letter, settings, now))
        finally:
            transport.close()
    except Exception:  # the page has gone; the log is where this can be seen
        log.exception("could not send a sign-in link")


async def offer(request: Request) -> Response:
    web, token = web_of(request), request.path_params["token"]

    def check() -> bool:
        with web.app.sessions() as session:
            return usable(session, token, web.app.now()) is not None

    if not await run_in_threadpool(check):
        return spent()
    return page("console/sign_in_button.html", csrf=csrf_of(request), token=token)


async def use(request: Request) -> Response:
    web, token, client = web_of(request), request.path_params["token"], client_of(request)

    forms = new_form_token(web.app.settings)  # never the one this browser brought

    def sign_in() -> str | None:
        app = web.app
        with transaction(app.sessions) as session:
            email = redeem(session, token, app.now())
            person = None if email is None else person_of(app.directory(), email, app.today())
            if person is None or person.needs_organisation(app.settings.organisation_sign_in_for):
                return None
            return begin(session, person.email, app.now(), client, forms, signed_in_with=LINK)

    cookie = await run_in_threadpool(sign_in)
    if cookie is None:
        return spent()
    return signed_in(request, cookie, forms, web.app.settings)


def spent() -> Response:
    return problem(
        410,
        "This sign-in link cannot be used",
        "Sign-in links work once, for a short time, and this one has been used or has run out.",
        "Ask for a new one on the sign-in page.",
    )


async def sign_out(request: Request) -> Response:
    return await leaving(request, everywhere=False)


async def sign_out_everywhere(request: Request) -> Response:
    return await leaving(request, everywhere=True)


async def leaving(request: Request, *, everywhere: bool) -> Response:
    web = web_of(request)
    try:
        who = await visiting(request)
    except RefusedError as refused:
        return refused.response

    def end_them() -> None:
        now = web.app.now()
        with transaction(web.app.sessions) as session:
            if everywhere:
                end_all(session, who.person.email, now, "signed out everywhere")
                return
            row = session.get(ConsoleSession, who.session_id)
            if row is not None:
                end(row, now, "signed out")

    await run_in_threadpool(end_them)
    why = "everywhere" if everywhere else "signed-out"
    response = RedirectResponse(f"/console/sign-in?why={why}", status_code=303)
    clear_session_cookie(response, web.app.settings)
    return response
