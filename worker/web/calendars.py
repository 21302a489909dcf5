"""The calendar pages and feeds: / (what to subscribe to), the session feeds, agency feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.app import AGENCY, SESSIONS
from worker.feeds.agency import (
    agency_for_token,
    agency_key,
    deadline_feed,
    deadlines_generation,
    kept_deadline_feed,
)
from worker.feeds.files import Feed, Stored
from worker.feeds.public import (
    SessionFilter,
    Site,
    session_feed,
    session_key,
    sessions_feed,
    sessions_key,
    webcal,
)
from worker.models import BriefingSession, MISheet
from worker.web.context import Web, page, problem, web_of
from worker.web.http import calendar_response

FILTERS = ("venue", "mi", "code")
SESSIONS_FILE, SESSION_FILE, DEADLINES_FILE = "sessions.ics", "session.ics", "deadlines.ics"
NOT_FOUND = "There is no calendar at this address."


@dataclass(frozen=True)
class Listed:
    """One feed on the home page, with both its addresses."""

    title: str
    detail: str
    url: str

    @property
    def webcal(self) -> str:
        return webcal(self.url)

    @property
    def scheme(self) -> str:
        """How the address to paste begins ("https", or "http" on an intranet install), so
        its label never names a scheme it does not have."""
        return scheme_of(self.url)


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


async def home(request: Request) -> Response:
    web = web_of(request)
    return await run_in_threadpool(home_page, web)


def home_page(web: Web) -> Response:
    site = web.site()
    with web.app.sessions() as session:
        feeds = public_feeds(session, site)
        upcoming = upcoming_sessions(session, web.app.today())
    scheme = scheme_of(site.base_url)
    return page("index.html", site=site, feeds=feeds, upcoming=upcoming, scheme=scheme)


def public_feeds(session: Session, site: Site) -> list[Listed]:
    everything = Listed(
        f"All {site.label} briefing sessions",
        "every session in every MI sheet, including cancelled ones",
        site.url("/feeds/sessions.ics"),
    )
    listed = [everything]
    query = select(MISheet).where(MISheet.sessions.any()).order_by(MISheet.number)
    for sheet in session.scalars(query):
        url = site.url("/feeds/sessions.ics", {"mi": sheet.number})
        listed.append(Listed(f"MI {sheet.number}", sheet.title, url))
    venues = session.scalars(select(BriefingSession.venue).distinct().order_by("venue"))
    for venue in venues:
        url = site.url("/feeds/sessions.ics", {"venue": venue})
        listed.append(Listed(venue, "sessions at this venue", url))
    return listed


def upcoming_sessions(session: Session, today: date) -> list[BriefingSession]:
    query = (
        select(BriefingSession)
        .where(BriefingSession.date >= today)
        .options(selectinload(BriefingSession.mi_sheet))
        .order_by(BriefingSession.date, BriefingSession.start_time, BriefingSession.reference)
    )
    return list(session.scalars(query))


async def all_sessions(request: Request) -> Response:
    unknown = sorted(set(request.query_params) - set(FILTERS))
    if unknown:
        return problem(
            400,
            "Unknown filter",
            f"This feed has no filter called {', '.join(unknown)}.",
            "It can be filtered by venue, mi (an MI number such as 3/17) and code "
            "(the start of a course code such as TLS-0317).",
        )
    chosen = SessionFilter(**{k: request.query_params.get(k, "") for k in FILTERS})
    web = web_of(request)
    files = web.app.feed_files(SESSIONS)
    # The hot path is the kept file, no database; only a feed not kept yet is built.
    feed: Stored | Feed | None = files.find(sessions_key(chosen))
    if feed is None:
        feed = await run_in_threadpool(sessions_feed, web.app.sessions, web.site(), files, chosen)
    return calendar_response(request, feed, web.app.now(), private=False, filename=SESSIONS_FILE)


async def one_session(request: Request) -> Response:
    reference = request.path_params["reference"]
    web = web_of(request)
    files = web.app.feed_files(SESSIONS)
    feed: Stored | Feed | None = files.find(session_key(reference))
    if feed is None:
        feed = await run_in_threadpool(session_feed, web.app.sessions, web.site(), files, reference)
    if feed is None:
        return problem(404, "No such session", f"No briefing session has reference {reference}.")
    return calendar_response(request, feed, web.app.now(), private=False, filename=SESSION_FILE)


async def agency(request: Request) -> Response:
    web = web_of(request)
    feed = await run_in_threadpool(agency_calendar, web, request.path_params["token"])
    now = web.app.now()
    if feed is None:
        # An unknown token and an unknown page look the same: nothing to learn by guessing.
        return problem(404, "Not found", NOT_FOUND)
    return calendar_response(request, feed, now, private=True, filename=DEADLINES_FILE)


def agency_calendar(web: Web, token: str) -> Stored | Feed | None:
    """The agency's feed as kept for today's generation, or built and kept now."""
    app, site, today = web.app, web.site(), web.app.today()
    rules, config = app.rules(), app.config.fingerprint()
    with app.sessions() as session:
        found = agency_for_token(session, token)
        if found is None:
            return None
        generation = deadlines_generation(session, site, today, config)
        return kept_deadline_feed(
            app.feed_files(AGENCY), agency_key(found), generation,
            lambda: deadline_feed(session, site, found, rules, today),
        )  # fmt: skip
