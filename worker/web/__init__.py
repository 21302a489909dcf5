"""The web side: calendar feeds, the pages behind the digest links, the console (Starlette).

Starlette because it is small, typed and well kept, and asks for nothing we do not use: no
ORM, no session framework (the console keeps its sessions in our database), no template
engine of its own (the pages use the project's one Jinja environment, worker/templating).
It runs under uvicorn, a production ASGI server; see `reminders serve`.

Routes:
    /                                   the public feeds, with https:// and webcal:// links
    /feeds/sessions.ics                 all briefing sessions (?venue= &mi= &code=)
    /feeds/sessions/{reference}.ics     one session ("add to calendar")
    /feeds/agency/{token}.ics           one agency's deadlines (private)
    /notify/receipts                    POST: GOV.UK Notify's delivery receipts
    /health, /health/ready              liveness and readiness (worker/web/health.py)
    /links/acknowledge/{token}          GET: confirm; POST: acknowledge with a progress note
    /links/complete/{token}             GET: confirm; POST: mark complete
    /accessibility, /privacy            the accessibility statement, the privacy notice
    /assets/…                           the stylesheet (worker/web/assets.py)
    /console/…                          the console (worker/web/console.py, signin.py,
                                        organisation.py, rules.py, directory.py, versions.py)
Nothing changes state on a GET but the return from an organisation's sign-in, which OpenID
Connect makes a GET: it acts only for the browser that began that sign-in, once
(worker/web/organisation.py).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from worker.app import App
from worker.mail.links import ACKNOWLEDGE, COMPLETE
from worker.settings import Settings
from worker.web import (
    actions,
    calendars,
    console,
    directory,
    directory_forms,
    health,
    imports,
    organisation,
    receipts,
    recommendations,
    reports,
    rules,
    signin,
    statements,
    versions,
)
from worker.web.assets import Assets
from worker.web.context import Web, problem
from worker.web.guard import Csrf, FormLimit, RefusedError, SameOrigin
from worker.web.http import AccessLog, SecurityHeaders
from worker.web.limits import RateLimit
from worker.yaml_files import ConfigError

log = logging.getLogger(__name__)


def create_app(app: App) -> Starlette:
    routes: list[BaseRoute] = [
        Route("/", calendars.home, methods=["GET"]),
        Route("/accessibility", statements.accessibility, methods=["GET"]),
        Route("/privacy", statements.privacy, methods=["GET"]),
        Mount("/assets", app=Assets()),
        Route("/feeds/sessions.ics", calendars.all_sessions, methods=["GET"]),
        Route("/feeds/sessions/{reference:path}.ics", calendars.one_session, methods=["GET"]),
        Route("/feeds/agency/{token}.ics", calendars.agency, methods=["GET"]),
        Route("/notify/receipts", receipts.receive, methods=["POST"]),
        Route("/health", health.alive, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
    ]
    for purpose in (ACKNOWLEDGE, COMPLETE):
        path = f"/links/{purpose}/{{token}}"
        routes.append(Route(path, actions.confirm(purpose), methods=["GET"]))
        routes.append(Route(path, actions.act(purpose), methods=["POST"]))
    routes += console_routes()
    settings = app.settings
    web = Starlette(
        routes=routes,
        # Outermost first: the log sees every response, including the error pages.
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders),
            # Only our own host names: no page or redirect is ever made for another host.
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings)),
            Middleware(RateLimit, rate=settings.rate_limit),
            Middleware(FormLimit),
            Middleware(SameOrigin, settings=settings),
            Middleware(Csrf, settings=settings),
        ],
        exception_handlers={
            RefusedError: refused,
            HTTPException: http_error,
            ConfigError: unavailable,
            Exception: server_error,
        },
    )
    web.state.web = Web(app)
    return web


def console_routes() -> list[Route]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/console/sign-in", signin.form, methods=get),
        Route("/console/sign-in", signin.ask, methods=post),
        Route("/console/sign-in/with/{provider}", organisation.start, methods=post),
        Route("/console/sign-in/with/{provider}/back", organisation.back, methods=get),
        Route("/console/sign-in/{token}", signin.offer, methods=get),
        Route("/console/sign-in/{token}", signin.use, methods=post),
        Route("/console/sign-out", signin.sign_out, methods=post),
        Route("/console/sign-out-everywhere", signin.sign_out_everywhere, methods=post),
        Route("/console/", console.home, methods=get),
        Route("/console/mine", console.mine, methods=get),
        Route("/console/preferences", console.preference, methods=post),
        Route("/console/items", console.items, methods=get),
        Route("/console/items.csv", console.items_csv, methods=get),
        Route("/console/items/key/{key:path}", console.item_by_key, methods=get),
        Route("/console/items/{id}", console.item, methods=get),
        Route("/console/items/{id}/{act}", console.item_act, methods=post),
        Route("/console/deliveries", console.deliveries, methods=get),
        Route("/console/deliveries/{id}/resend", console.resend, methods=post),
        Route("/console/calendars", console.calendars, methods=get),
        Route("/console/calendars/{id}/{act}", console.feed_change, methods=post),
        Route("/console/people", console.people, methods=get),
        Route("/console/people/end", console.end_sessions, methods=post),
        Route("/console/directory", directory.directory, methods=get),
        Route("/console/directory/replace", directory.replace, methods=post),
        Route("/console/directory/correct", directory.correct, methods=post),
        Route("/console/directory/cover", directory.cover, methods=post),
        Route("/console/directory/held", directory.held, methods=post),
        Route("/console/directory/edit", directory.edit, methods=get),
        Route("/console/directory/edit", directory.save_edit, methods=post),
        Route("/console/directory/forms/{form}", directory_forms.entry_form, methods=get),
        Route("/console/directory/forms/{form}", directory_forms.entry_post, methods=post),
        Route("/console/imports", imports.imports, methods=get),
        Route("/console/imports/preview", imports.preview, methods=post),
        Route("/console/imports/columns", imports.columns, methods=post),
        Route("/console/imports/again", imports.again, methods=post),
        Route("/console/imports/confirm", imports.confirm, methods=post),
        Route("/console/imports/{id}/original", imports.download, methods=get),
        Route("/console/reports/cap.{format}", reports.cap, methods=get),
        Route("/console/recommendations", recommendations.recommendations, methods=get),
        Route("/console/recommendations/{id}/link", recommendations.link_action, methods=post),
        Route("/console/rules", rules.rules, methods=get),
        Route("/console/rules", rules.propose, methods=post),
        Route("/console/versions/{kind}", versions.versions, methods=get),
        Route("/console/versions/{kind}/{number}/rollback", versions.rollback, methods=post),
    ]


async def refused(request: Request, exc: Exception) -> Response:
    """A page or action refused on the way (not signed in, not allowed): its own answer."""
    if isinstance(exc, RefusedError):
        return exc.response
    raise exc


def allowed_hosts(settings: Settings) -> list[str]:
    public = urlsplit(settings.public_base_url).hostname
    return sorted({"localhost", "127.0.0.1", *([public] if public else [])})


def from_settings() -> Starlette:
    """The factory `reminders serve` hands uvicorn: one App per server process."""
    lean_log_records()
    return create_app(App())


def lean_log_records() -> None:
    """Log records without what no line here prints: the caller's file and line (looked up
    by walking the stack), thread and process names. The access log writes a record for
    every request, a calendar client's poll answered 304 included (the Logging HOWTO's
    "Optimization")."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        response = problem(405, "Not allowed", "This address does not accept that kind of request.")
        headers = exc.headers if isinstance(exc, HTTPException) else None
        response.headers.update(headers or {})  # Allow: the methods it does accept
        return response
    return problem(status, "Not found", calendars.NOT_FOUND if status == 404 else str(exc))


async def unavailable(request: Request, exc: Exception) -> Response:
    """The business manager's files are broken: say so, and log which and where."""
    log.error("configuration unreadable while answering a request: %s", exc)
    return problem(
        503,
        "Temporarily unavailable",
        "The service's configuration cannot be read just now, so it cannot answer this.",
        "Please try again later. The partnership's business manager can see why in the log.",
    )


async def server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server log (uvicorn writes it); the reader gets a plain page.
    return problem(
        500,
        "Something went wrong",
        "The service could not answer this request. Nothing was recorded.",
        "Please try again in a few minutes.",
    )
