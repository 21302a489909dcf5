"""The private deadline feed of one agency: the CAP target dates and MI deadlines it owns.

An agency owns the obligations the escalation engine files under it (one per lead agency of
each CAP action) and the MI-sheet deadlines whose LA contact is one of its people in the
directory. Each is an all-day event on its (effective) target date, its summary showing
where it stands on the escalation ladder today, as `reminders escalation status` would.

The feed's address holds a token: the HMAC, under the signing key, of a random nonce kept with
the feed. Only the token's SHA-256 and the nonce are stored, so the database alone cannot make
the address, while the console can show it to the agency's own people; `reminders feeds
rotate` (or Rotate in the console) replaces it, so the old address stops at once. A presented
token is hashed and the stored hash compared in constant time; an unknown token is answered
like an unknown page (404).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Event
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from worker.directory.recipients import Partnership
from worker.feeds.files import Feed, FeedFiles, Stored, generation_of
from worker.feeds.public import FORMAT, NEVER, Site, new_calendar
from worker.models import (
    Action,
    Agency,
    AgencyFeed,
    MISheet,
    Obligation,
    ObligationEvent,
    StageChange,
)
from worker.obligations import Assessment, Assessor, stream, uid
from worker.rules.ladder import Rules
from worker.templating import long_date
from worker.tokens import hash_token, new_token, plausible


def issue_token(session: Session, agency: Agency, now: datetime, key: bytes) -> str:
    """A new token for `agency`, replacing any it had (whose address stops at once)."""
    nonce = new_token()
    token = token_of(nonce, key)
    row = session.scalar(select(AgencyFeed).where(AgencyFeed.agency_id == agency.id))
    if row is None:
        row = AgencyFeed(agency=agency, token_hash="")
        session.add(row)
    row.token_hash, row.nonce, row.created_at = hash_token(token), nonce, now
    return token


def token_of(nonce: str, key: bytes) -> str:
    digest = hmac.new(key, f"agency-feed|{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def shown_token(feed: AgencyFeed, key: bytes) -> str | None:
    """The feed's current token, if it can be made again (feeds with a nonce)."""
    return token_of(feed.nonce, key) if feed.nonce else None


def revoke(session: Session, agency: Agency) -> bool:
    """Stop the agency's feed address; False when it had none."""
    row = feed_of(session, agency)
    if row is not None:
        session.delete(row)
    return row is not None


def feed_of(session: Session, agency: Agency) -> AgencyFeed | None:
    return session.scalar(select(AgencyFeed).where(AgencyFeed.agency_id == agency.id))


def agency_for_token(session: Session, token: str) -> Agency | None:
    if not plausible(token):
        return None
    presented = hash_token(token)
    row = session.scalar(
        select(AgencyFeed)
        .where(AgencyFeed.token_hash == presented)
        .options(selectinload(AgencyFeed.agency).selectinload(Agency.contacts))
    )
    if row is None or not hmac.compare_digest(row.token_hash, presented):
        return None
    return row.agency


def feed_path(token: str) -> str:
    return f"/feeds/agency/{token}.ics"


def owned(row: Obligation, agency: Agency, emails: set[str], partnership: Partnership) -> bool:
    """The agency's own items, and MI sheets whose LA contact (as the directory has them,
    never as a document writes them) is one of the agency's people."""
    if row.agency_id == agency.id:
        return True
    contact = partnership.la_contact(row.mi_sheet)
    return row.agency_id is None and contact is not None and contact.email.lower() in emails


def deadline_feed(session: Session, site: Site, agency: Agency, rules: Rules, today: date) -> Feed:
    """The agency's deadlines as they stand on `today` (a Europe/London date)."""
    emails = {c.email.lower() for c in agency.contacts}
    assessor = Assessor.build(session, rules, today)
    everything = stream(session, include_resolved=True)
    rows = [r for r in everything if owned(r, agency, emails, assessor.partnership)]
    # An item that cannot be assessed is left out of the feed (the daily run reports it).
    found = list(assessor.each(rows))
    dated = [a for a in found if a.decision.target is not None]
    moved = stage_changes(session)
    name = f"{site.label} deadlines: {agency.name}"
    description = f"Target dates and MI deadlines owned by {agency.name}, with today's stage"
    days = [a.decision.target for a in dated if a.decision.target is not None]
    calendar = new_calendar(site, name, description, days)
    for item in sorted(dated, key=lambda a: (a.decision.target or date.min, a.row.key)):
        calendar.add_component(deadline_event(item, site, changed(item.row, moved)))
    body: bytes = calendar.to_ical()
    return Feed(name, body, deadlines_changed(session, site, today))


def agency_key(agency: Agency) -> str:
    """The name an agency's feed is kept under: its people decide which MI sheets it owns."""
    people = sorted(c.email.lower() for c in agency.contacts)
    return f"agency-{agency.id}-{generation_of(people)[:16]}"


def deadlines_generation(session: Session, site: Site, today: date, config: object) -> str:
    """What every agency's feed is built from today, as a generation's name: the day (stages
    are worked out for it), the directory and rules in force (`config`, their fingerprint),
    and the latest change to any obligation, event, stage, action or MI sheet."""
    return generation_of(FORMAT, site, today, config, deadlines_changed(session, site, today))


def kept_deadline_feed(
    files: FeedFiles, key: str, generation: str, build: Callable[[], Feed]
) -> Stored | Feed:
    """The agency's feed as kept for this generation, or built now and kept for the rest of
    it; keeping a new generation's first feed removes the feeds of older ones."""
    kept = files.find(key, generation)
    if kept is not None:
        return kept
    feed = build()
    with files.locked():
        files.put(generation, key, feed)
        if files.current() != generation:
            files.publish(generation)
    return feed


def stage_changes(session: Session) -> dict[int, datetime]:
    query = select(StageChange.obligation_id, func.max(StageChange.recorded_at)).group_by(
        StageChange.obligation_id
    )
    return {obligation_id: at for obligation_id, at in session.execute(query)}


def changed(row: Obligation, moved: dict[int, datetime]) -> datetime:
    """When anything that shapes this obligation's event last changed."""
    times = [row.created_at, *(e.recorded_at for e in row.events)]
    times += [row.action.updated_at] if row.action else []
    times += [row.mi_sheet.updated_at] if row.mi_sheet else []
    times += [moved[row.id]] if row.id in moved else []
    return max(times)


def deadlines_changed(session: Session, site: Site, today: date) -> datetime:
    """Last-Modified of any deadline feed: the latest change to any obligation, event, stage,
    action or MI sheet, and the start of today, since a stage is worked out for today.

    All of these only grow (nothing is deleted), so the date never moves backwards, even
    when an obligation leaves the feed.
    """
    columns: tuple[InstrumentedAttribute[datetime], ...] = (
        Obligation.created_at,
        ObligationEvent.recorded_at,
        StageChange.recorded_at,
        Action.updated_at,
        MISheet.updated_at,
    )
    latest: list[datetime | None] = [session.scalar(select(func.max(c))) for c in columns]
    midnight = datetime.combine(today, time(0), tzinfo=site.tz).astimezone(UTC)
    return max([NEVER, midnight, *(t for t in latest if t is not None)])


def stage_label(found: Assessment) -> str:
    d = found.decision
    if found.view.withdrawn:
        return "Withdrawn"
    if d.resolved:
        return "Complete"
    return f"{d.stage_name} (paused)" if d.paused_until else d.stage_name


def deadline_event(found: Assessment, site: Site, last_change: datetime) -> Event:
    row, target = found.row, found.decision.target
    assert target is not None  # undated obligations are left out of the feed
    event = Event()
    event.add("uid", uid(found.view, site.domain))
    event.add("dtstamp", last_change)
    event.add("created", row.created_at)
    event.add("last-modified", last_change)
    event.add("sequence", sum(e.kind in ("retargeted", "reopened") for e in row.events))
    event.add("organizer", site.organizer_address())
    event.add("dtstart", target)
    event.add("dtend", target + timedelta(days=1))
    event.add("summary", f"[{stage_label(found)}] {found.view.summary}")
    event.add("description", deadline_description(found))
    withdrawn = stage_label(found) == "Withdrawn"
    event.add("status", "CANCELLED" if withdrawn else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event


def deadline_description(found: Assessment) -> str:
    view, d = found.view, found.decision
    lines = [view.text]
    if view.plan is not None:
        lines.append(f"Plan: {view.plan}")
    lines.append(f"Owner: {found.owner.label}")
    lines.append(f"Target date: {long_date(d.target.isoformat())}" if d.target else "")
    stage = stage_label(found)
    if d.working_days_overdue > 0 and not d.resolved:
        stage += f", {d.working_days_overdue} working days overdue"
    lines.append(f"Stage: {stage}")
    if d.paused_until:
        lines.append(f"Escalation paused until {long_date(d.paused_until.isoformat())}")
    if d.next_change and not d.resolved:
        lines.append(f"Next: stage {d.next_stage} on {long_date(d.next_change.isoformat())}")
    if view.progress:
        lines.append(f"Latest progress: {view.progress}")
    lines.append("Acknowledge or mark complete from the links in your digest e-mail.")
    return "\n".join(line for line in lines if line)
