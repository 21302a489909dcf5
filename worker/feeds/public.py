"""Calendar feeds, built with icalendar: briefing sessions for everyone, deadlines per agency.

What calendar clients need, and every feed here has: METHOD:PUBLISH (never REQUEST),
X-WR-CALNAME, REFRESH-INTERVAL;VALUE=DURATION:PT1H and X-PUBLISHED-TTL:PT1H, a VTIMEZONE for
Europe/London with its STANDARD and DAYLIGHT parts as yearly rules (Outlook shifts or refuses
times without one; `worker.feeds.timezones`), and times with that TZID, never floating (Google
would read them as UTC). Each event has an ORGANIZER (RFC 5546 asks it of PUBLISH), a UID
that survives re-imports (the session's reference at the partnership's domain), DTSTAMP
and LAST-MODIFIED from the row, and SEQUENCE from the session's own counter, which every
change bumps. A cancelled session stays in the feed with STATUS:CANCELLED: Apple strikes it
through, and a client that had it learns it is off.

The body is a function of the database only (no clock: DTSTAMP is the row's last change), so
its hash is a strong ETag and an unchanged feed answers 304.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vDuration
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from worker.feeds.files import Feed, FeedFiles, generation_of
from worker.feeds.timezones import vtimezone
from worker.importers.text import is_web_address
from worker.models import BriefingSession, MISheet, SessionStatus
from worker.obligations import calendar_path

REFRESH = timedelta(hours=1)
# Part of every kept feed's generation: a release that writes feeds differently changes it,
# and the feeds kept by the one before are built again.
FORMAT = 4  # 4: ORGANIZER on every event, VTIMEZONE as yearly rules
# Last-Modified of a feed with nothing in it yet: any first row moves it forward.
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Site:
    """Whose feeds these are and where they are served."""

    label: str  # "NSCP"
    domain: str  # the partnership's domain, for UIDs
    base_url: str  # public_base_url, without a trailing slash
    tz: ZoneInfo
    organizer: tuple[str, str] = ("Safeguarding partnership", "reminders@example.org")

    def organizer_address(self) -> vCalAddress:
        """ORGANIZER, which RFC 5546 asks of every event a PUBLISH feed carries: the
        partnership's mailbox (the digests' From), with its name."""
        name, address = self.organizer
        found = vCalAddress(f"mailto:{address}")
        found.params["CN"] = name
        return found

    def url(self, path: str, query: dict[str, str] | None = None) -> str:
        tail = f"?{urlencode(query)}" if query else ""
        return f"{self.base_url}{path}{tail}"

    def session_path(self, reference: str) -> str:
        return calendar_path(reference)


def webcal(url: str) -> str:
    """The same address for "subscribe" buttons: webcal:// opens the calendar app."""
    return "webcal://" + url.split("://", 1)[-1]


def new_calendar(site: Site, name: str, description: str, days: Iterable[date]) -> Calendar:
    """A calendar with the properties every client needs and the zone its events use."""
    cal = Calendar()
    cal.add("prodid", f"-//{site.label}//Reminders calendar feeds//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    cal.add("x-wr-caldesc", description)
    cal.add("x-wr-timezone", site.tz.key)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    cal.add_component(zone(site.tz, list(days)))
    return cal


def zone(tz: ZoneInfo, days: Sequence[date]) -> Timezone:
    """VTIMEZONE from the zone database, for the years the events fall in, its changes as
    yearly rules (`worker.feeds.timezones`)."""
    first = min(days, default=NEVER.date()).year
    last = max(days, default=NEVER.date()).year
    return vtimezone(tz, tz.key, first, last)


# ---------------------------------------------------------------------------------------------
# Briefing sessions


@dataclass(frozen=True)
class SessionFilter:
    """The query parameters of /feeds/sessions.ics; empty values do not filter."""

    venue: str = ""  # part of the venue's name, any case
    mi: str = ""  # an MI number, "3/17"
    code: str = ""  # the start of the course code, "TLS-0317"

    def normalised(self) -> SessionFilter:
        """The same filter written one way (trimmed, case-folded), so that variants of one
        filter share a cached feed instead of each building the whole feed again."""
        return SessionFilter(
            " ".join(self.venue.split()).casefold(),
            "".join(self.mi.split()),
            "".join(self.code.split()).upper(),
        )

    def describe(self) -> str:
        parts = [
            f"at {self.venue}" if self.venue else "",
            f"from MI {self.mi}" if self.mi else "",
            f"{self.code}…" if self.code else "",
        ]
        return " ".join(p for p in parts if p)

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("venue", self.venue), ("mi", self.mi), ("code", self.code)) if v}


def session_rows(session: Session, chosen: SessionFilter) -> list[BriefingSession]:
    query = (
        select(BriefingSession)
        .join(BriefingSession.mi_sheet)
        .options(selectinload(BriefingSession.mi_sheet))
        .order_by(BriefingSession.date, BriefingSession.start_time, BriefingSession.reference)
    )
    if chosen.venue:
        venue = func.lower(BriefingSession.venue)
        query = query.where(venue.contains(chosen.venue.strip().lower(), autoescape=True))
    if chosen.mi:
        query = query.where(MISheet.number == chosen.mi.strip())
    if chosen.code:
        code = func.upper(BriefingSession.reference)
        query = query.where(code.startswith(chosen.code.strip().upper(), autoescape=True))
    return list(session.scalars(query))


def sessions_changed(session: Session) -> datetime:
    """The latest change to any session or MI sheet, cancelled ones included.

    Nothing is ever deleted (a session that goes is cancelled, and its row stamped), so this
    never moves backwards. Filtered feeds use it too: a session that moves out of a filter
    (another venue) leaves that feed, and the feed's date must still move forward.
    """
    sessions: datetime | None = session.scalar(select(func.max(BriefingSession.updated_at)))
    sheets: datetime | None = session.scalar(select(func.max(MISheet.updated_at)))
    return max([NEVER, *(t for t in (sessions, sheets) if t is not None)])


def sessions_version(session: Session) -> tuple[object, ...]:
    """What the sessions feeds are built from, in one small query: every change to a session
    stamps its row and bumps its sequence, every change to a sheet stamps the sheet."""
    sessions = select(
        func.max(BriefingSession.updated_at),
        func.count(BriefingSession.id),
        func.sum(BriefingSession.sequence),
    )
    sheets = select(func.max(MISheet.updated_at), func.count(MISheet.id))
    return (*session.execute(sessions).one(), *session.execute(sheets).one())


ALL = "all"  # the key of the whole sessions feed


def sessions_key(chosen: SessionFilter) -> str:
    """The name a filter's feed is kept under: variants of one filter share one."""
    normal = chosen.normalised()
    return ALL if normal == SessionFilter() else f"filter-{generation_of(normal)[:24]}"


def session_key(reference: str) -> str:
    return f"session-{generation_of(reference)[:24]}"


def sessions_generation(session: Session, site: Site) -> str:
    """What every sessions feed is built from, as a generation's name (`worker.feeds.files`)."""
    return generation_of(FORMAT, site, sessions_version(session))


def publish_sessions(factory: sessionmaker[Session], site: Site, files: FeedFiles) -> bool:
    """Write the whole sessions feed again if what it is built from changed since it was
    last published, and serve it from now on; True if it was rebuilt."""
    with files.locked(), factory() as session:
        generation = sessions_generation(session, site)
        if files.current() == generation:
            return False
        files.put(generation, ALL, build_sessions_feed(session, site, SessionFilter()))
        files.publish(generation)
        return True


def sessions_feed(
    factory: sessionmaker[Session], site: Site, files: FeedFiles, chosen: SessionFilter
) -> Feed:
    """A sessions feed that has not been kept yet in the published generation: built, kept,
    and returned (publishing first if nothing ever was)."""
    if files.current() is None:
        publish_sessions(factory, site, files)
    generation = files.current()
    with factory() as session:
        feed = build_sessions_feed(session, site, chosen.normalised())
    if generation is not None:
        files.put(generation, sessions_key(chosen), feed)
    return feed


def build_sessions_feed(session: Session, site: Site, chosen: SessionFilter) -> Feed:
    rows = session_rows(session, chosen)
    title = f"{site.label} briefing sessions"
    name = f"{title} {chosen.describe()}".strip()
    description = f"Briefing sessions announced in {site.label} MI sheets"
    return Feed(name, render(site, name, description, rows), sessions_changed(session))


def session_feed(
    factory: sessionmaker[Session], site: Site, files: FeedFiles, reference: str
) -> Feed | None:
    """One session, for an "add to calendar" link, built and kept like a filter's feed;
    None if there is no such session."""
    generation = files.current()
    with factory() as session:
        feed = one_session_feed(session, site, reference)
    if feed is not None and generation is not None:
        files.put(generation, session_key(reference), feed)
    return feed


def one_session_feed(session: Session, site: Site, reference: str) -> Feed | None:
    query = select(BriefingSession).where(BriefingSession.reference == reference)
    row = session.scalar(query.options(selectinload(BriefingSession.mi_sheet)))
    if row is None:
        return None
    name = f"{site.label} briefing session {row.reference}"
    changed = max(row.updated_at, row.mi_sheet.updated_at)
    return Feed(name, render(site, name, summary(row), [row]), changed)


def render(site: Site, name: str, description: str, rows: Sequence[BriefingSession]) -> bytes:
    cal = new_calendar(site, name, description, [r.date for r in rows])
    for row in rows:
        cal.add_component(session_event(row, site))
    body: bytes = cal.to_ical()
    return body


def summary(row: BriefingSession) -> str:
    title = f"Briefing: {row.mi_sheet.title}"
    return f"Cancelled: {title}" if row.status is SessionStatus.CANCELLED else title


def session_event(row: BriefingSession, site: Site) -> Event:
    event = Event()
    event.add("uid", f"{row.reference}@{site.domain}")
    event.add("dtstamp", row.updated_at)
    event.add("created", row.created_at)
    event.add("last-modified", row.updated_at)
    event.add("sequence", row.sequence)
    event.add("organizer", site.organizer_address())
    event.add("dtstart", datetime.combine(row.date, row.start_time, tzinfo=site.tz))
    event.add("dtend", datetime.combine(row.date, row.end_time, tzinfo=site.tz))
    event.add("summary", summary(row))
    event.add("location", row.venue)
    event.add("description", session_description(row))
    event.add("url", web_address(row.booking_url) or site.url(site.session_path(row.reference)))
    cancelled = row.status is SessionStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def web_address(url: str | None) -> str | None:
    """`url` if it is an http(s) address: whatever reached the database, a calendar never
    gets a javascript: or data: link to open (the importers' own test)."""
    return url if url and is_web_address(url) else None


def session_description(row: BriefingSession) -> str:
    sheet = row.mi_sheet
    lines = [f"Course code: {row.reference}", f"MI sheet {sheet.number}: {sheet.title}"]
    if row.status is SessionStatus.CANCELLED:
        lines.insert(0, "This session has been cancelled.")
    if row.delegate_limit is not None:
        places = "place" if row.delegate_limit == 1 else "places"
        lines.append(f"Delegate limit: {row.delegate_limit} {places} per school/establishment")
    if web_address(row.booking_url):
        lines.append(f"Book: {row.booking_url}")
    if sheet.contact_name:
        phone = f" ({sheet.contact_phone})" if sheet.contact_phone else ""
        lines.append(f"Contact: {sheet.contact_name}{phone}")
    return "\n".join(lines)
