"""Who is asking, and may they: the console's session cookie, CSRF, forms and refusals.

* The session cookie (`console`) holds a random token, `HttpOnly`, `SameSite=Lax`, scoped to
  /console, `Secure` when the service is on https. The session behind it lives in the
  database (worker/signin/sessions.py), so it can be ended from anywhere. A GET may be
  answered from the process's memory of it for a few seconds, a POST never: an ended session
  is refused at once by the process that ended it, within `RECHECK_SECONDS` by the others
  (worker/signin/seen.py).
* CSRF: every console form carries the token of asgi-csrf (a signed double-submit cookie,
  the library Datasette uses); a POST without it, or with another, is refused before any
  handler runs. Every change is a POST; no GET changes anything. Each session is given a
  fresh token when it begins and accepts no other, so a token planted from another browser
  is worth nothing.
* Origin: a console POST a browser sends from another site (or from an opaque origin,
  `null`) is refused before the token is even read: the second wall.
* Each page and action asks `visitor` who is there and checks what they may do on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlsplit

from asgi_csrf import Errors, asgi_csrf
from itsdangerous import URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from worker.app import App
from worker.console.acts import Doer
from worker.console.people import Person, person_of
from worker.db import transaction
from worker.importers.text import MAX_BYTES
from worker.mail.links import SigningKeyError, signing_key
from worker.settings import Settings
from worker.signin.sessions import Client, Lifetimes, checked, end_all, forms_match
from worker.tokens import new_token
from worker.web.context import Web, problem, web_of

log = logging.getLogger(__name__)

COOKIE = "console"
PREFIX = "/console"
SIGN_IN = "/console/sign-in"
BACK = "console_back"  # the page asked for before signing in
BACK_SECONDS = 3600
FORM_LIMIT = 32 * 1024
UPLOADS = frozenset({"/console/imports/preview"})  # multipart forms: see `upload_form`
MAX_UPLOADS = 10  # documents in one upload, each at most MAX_BYTES
READS = frozenset({"GET", "HEAD"})  # the methods a remembered session may answer
LARGER_FORMS = {
    "/console/directory/edit": 512 * 1024,  # a directory of 400 schools and more
    "/console/imports/preview": MAX_UPLOADS * (MAX_BYTES + 64 * 1024),  # and their headers
}


class RefusedError(Exception):
    """The request may not go on; `response` says why."""

    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__(response.status_code)


@dataclass(frozen=True)
class Visitor:
    person: Person
    session_id: int
    csrf: str
    client: Client

    def doer(self, app: App) -> Doer:
        """This visitor as the one who asks, now: for `act` and `keep`."""
        return Doer(self.person, self.client, app.now(), app.today())


def secure(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def client_of(request: Request) -> Client:
    agent = request.headers.get("user-agent")
    address = request.client.host if request.client else None
    return Client(address, agent[:500] if agent else None)


def csrf_of(request: Request) -> str:
    return str(cast(Callable[[], str], request.scope["csrftoken"])())


def visitor(web: Web, request: Request) -> Visitor:
    """The signed-in person of this request; RefusedError (to the sign-in page) if none."""
    token = request.cookies.get(COOKIE, "")
    app, now = web.app, web.app.now()
    live = checked(app.sessions, token, now, Lifetimes.of(app.settings),
                   recall=request.method in READS)  # fmt: skip
    if live is None:
        raise RefusedError(to_sign_in("expired" if token else "", request, app.settings))
    person = person_of(app.directory(), live.email, app.today())
    if person is None:
        with transaction(app.sessions) as session:
            end_all(session, live.email, now, "removed from the directory")
        raise RefusedError(to_sign_in("removed"))
    if request.method == "POST" and not forms_match(live, csrf_of(request)):
        raise RefusedError(not_accepted())  # a token from another browser's session
    return Visitor(person, live.id, csrf_of(request), client_of(request))


def to_sign_in(why: str, request: Request | None = None, settings: Settings | None = None
               ) -> Response:  # fmt: skip
    """To the sign-in page; a page asked for (a GET) is remembered to return to after it."""
    target = f"{SIGN_IN}?why={why}" if why else SIGN_IN
    response = RedirectResponse(target, status_code=303)
    response.headers["cache-control"] = "no-store"
    if request is not None and settings is not None and request.method == "GET":
        raw = request.scope.get("raw_path") or request.url.path.encode()
        asked = raw.decode("latin-1") + (f"?{request.url.query}" if request.url.query else "")
        if way_back(asked):  # percent-encoded: a cookie value may not hold ; or "
            value = quote(asked, safe="/?&=%+-_.~:")
            response.set_cookie(BACK, value, max_age=BACK_SECONDS, path=PREFIX,
                                secure=secure(settings), httponly=True, samesite="lax")  # fmt: skip
    return response


def way_back(path: str) -> str | None:
    """`path` if it is a console page to return to after signing in (never another site, never
    the sign-in pages themselves), else None."""
    if not path.startswith(PREFIX + "/") or path.startswith(SIGN_IN) or len(path) > 500:
        return None
    if "//" in path or "\\" in path or any(c < " " for c in path):
        return None
    return path


async def visiting(request: Request) -> Visitor:
    return await run_in_threadpool(visitor, web_of(request), request)


def forbidden(what: str = "This is not something your role in the partnership can do.") -> Response:
    return problem(
        403,
        "Not allowed",
        what,
        "If you think this is wrong, contact the partnership's business manager.",
    )


async def form_of(request: Request) -> dict[str, str]:
    """The URL-encoded fields of a console form (the size was checked by `FormLimit`)."""
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def form_lists(request: Request, max_fields: int) -> dict[str, list[str]]:
    """Every value of each field of a longer console form (checkboxes send one a box)."""
    form = await request.form(max_files=0, max_fields=max_fields)
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_lifetime_hours * 3600,
        path=PREFIX,
        secure=secure(settings),
        httponly=True,
        samesite="lax",
    )


def signed_in(request: Request, cookie: str, forms: str, settings: Settings) -> Response:
    """A session begun: its cookies, and on to the page asked for before (or the console)."""
    back = way_back(request.cookies.get(BACK, ""))
    response = RedirectResponse(back or "/console/", status_code=303)
    set_session_cookie(response, cookie, settings)
    set_form_token_cookie(response, forms, settings)
    response.delete_cookie(BACK, path=PREFIX)
    return response


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, secure=secure(settings), httponly=True,
                           samesite="lax")  # fmt: skip


class Everything:
    """`always_protect` for asgi-csrf: every console path, with or without cookies."""

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path.startswith(PREFIX)


PROCESS_KEY = new_token().encode()  # forms' key when no signing key is set: this process's
FORM_FIELD = "csrftoken"  # asgi-csrf's cookie and form field, and its signing namespace


def form_secret(settings: Settings) -> str:
    """The key console form tokens are signed with, from the service's signing key."""
    try:
        key = signing_key(settings)
    except SigningKeyError:
        log.warning("no signing key: console forms are protected with a key of this process")
        key = PROCESS_KEY
    return hmac.new(key, b"console-csrf", hashlib.sha256).hexdigest()


def new_form_token(settings: Settings) -> str:
    """A fresh form token, as asgi-csrf makes them (given with each new session)."""
    return str(URLSafeSerializer(form_secret(settings)).dumps(new_token(), FORM_FIELD))


def set_form_token_cookie(response: Response, token: str, settings: Settings) -> None:
    """The form token's cookie, as asgi-csrf sets it, replacing the browser's."""
    response.set_cookie(FORM_FIELD, token, path=PREFIX, secure=secure(settings),
                        samesite="lax")  # fmt: skip


def csrf_protected(app: ASGIApp, settings: Settings) -> ASGIApp:
    """`app` with asgi-csrf on every console POST (the digest links have their own tokens)."""
    wrap = asgi_csrf(
        app,
        signing_secret=form_secret(settings),
        always_protect=Everything(),
        skip_if_scope=lambda scope: (
            not str(scope["path"]).startswith(PREFIX) or scope["path"] in UPLOADS
        ),
        cookie_path=PREFIX,
        cookie_secure=secure(settings),
        send_csrf_failed=csrf_failed,
    )
    return cast(ASGIApp, wrap)


def not_accepted() -> Response:
    return problem(
        403,
        "This form could not be accepted",
        "It came from an older page, another site, or a browser that refused the console's "
        "cookies, so nothing was done.",
        "Go back, reload the page, and try again.",
    )


async def upload_form(request: Request, max_files: int, max_fields: int) -> FormData:
    """An upload form (multipart), its CSRF token checked here against the same signed
    double-submit cookie asgi-csrf sets: asgi-csrf's own multipart reading does not work
    with today's python-multipart, so it leaves the UPLOADS paths to this check.
    RefusedError when the token does not match."""
    form = await request.form(max_files=max_files, max_fields=max_fields,
                              max_part_size=64 * 1024)  # fmt: skip
    given = form.get("csrftoken")
    if not isinstance(given, str) or not secrets.compare_digest(given, csrf_of(request)):
        await form.close()
        raise RefusedError(not_accepted())
    return form


async def csrf_failed(scope: Scope, send: Send, message_id: Errors) -> None:
    response = not_accepted()

    async def nothing() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)


class FormLimit:
    """Console POSTs must say how long they are, and be short: forms, never uploads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and \
                str(scope["path"]).startswith(PREFIX):  # fmt: skip
            length = dict(scope["headers"]).get(b"content-length", b"")
            limit = LARGER_FORMS.get(str(scope["path"]), FORM_LIMIT)
            if not length.isdigit() or int(length) > limit:
                too_big = problem(413, "Too much text",
                                  f"This console form is at most {limit // 1024} KB.")  # fmt: skip
                await too_big(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SameOrigin:
    """Console POSTs whose `Origin` is neither the service's own (`public_base_url`) nor the
    address the request was sent to are refused; `null` always. A browser names the origin
    of every POST it sends; a request without one came from no web page."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.public = app, origin_of(settings.public_base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and \
                str(scope["path"]).startswith(PREFIX):  # fmt: skip
            headers = dict(scope["headers"])
            sent = headers.get(b"origin", b"").decode("latin-1").strip().lower()
            own = f"{scope.get('scheme', 'http')}://{headers.get(b'host', b'').decode('latin-1')}"
            if sent and sent not in {self.public, own.lower()}:
                await not_accepted()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def origin_of(url: str) -> str:
    """'https://example.org' for 'https://Example.org/console/'."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Csrf:
    """asgi-csrf as a Starlette middleware, for the console only: it makes and signs a token
    for every request it sees, which the feeds (polled by every subscriber) need not pay."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.protected = app, csrf_protected(app, settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        console = str(scope.get("path", "")).startswith(PREFIX)
        await (self.protected if console else self.app)(scope, receive, send)
