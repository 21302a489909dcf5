"""Planning a send period: sweep, decide who is due a digest, write the ledger rows.

The tick runs every minute in UTC; the period is a Europe/London working day, due from its
send time. Planning a period is claimed by a unique row, so a second beat plans nothing.
Days the service was down need no separate catch-up: each recipient's next digest covers
everything since their last one (a missed weekly digest goes out in the first window of
the week it belongs to; nothing is sent twice for the days missed).

Only the people who may have something to hear are read: in the week's first window that is
everyone with an item; on other days those with news (an item that changed stage this week,
a reminder, a resolution), a serious item (their daily cadence), or no digest yet this week.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from worker.directory import undeliverable
from worker.directory.recipients import Person, Recipient, unknown_la_contacts
from worker.mail.digest import (
    KIND,
    Attention,
    Cadence,
    Digest,
    Inbox,
    Undelivered,
    covered,
    digest_for,
    gather,
)
from worker.mail.message import subject_line
from worker.mail.preferences import daily_readers
from worker.models import (
    Delivery,
    DeliveryState,
    Obligation,
    PlanRun,
    StageChange,
    UndeliverableAddress,
)
from worker.obligations import (
    Assessment,
    Assessor,
    Reach,
    Unassessed,
    bring_up_to_date,
    officer_stage,
    owners_where,
    stream,
)
from worker.rules.ladder import Rules
from worker.workdays import WorkingCalendar, local_date

log = logging.getLogger(__name__)
Cover = Mapping[str, Person]  # the address of someone away -> who covers for them


def send_period(now: datetime, rules: Rules, tz: ZoneInfo) -> date | None:
    """Today's period if today is a working day and its send time has come, else None."""
    local = now.astimezone(tz)
    today = local_date(now, tz)
    if not rules.calendar().is_working_day(today) or local.time() < rules.digests.send_at:
        return None
    return today


def latest_period(now: datetime, rules: Rules, tz: ZoneInfo) -> date:
    """The most recent working day whose send time has passed (for a first demonstration)."""
    day = send_period(now, rules, tz)
    if day is not None:
        return day
    return rules.calendar().add(local_date(now, tz), -1)


def week_start(day: date, cal: WorkingCalendar) -> date:
    """The first working day of `day`'s week (Tuesday after a bank-holiday Monday)."""
    monday = day - timedelta(days=day.weekday())
    return monday if cal.is_working_day(monday) else cal.next_working_day(monday)


Decorate = Callable[[Digest], Digest]


def plan(session: Session, rules: Rules, tz: ZoneInfo, period: date, partnership: str,
         links: Decorate | None = None, cover: Cover | None = None) -> list[int]:  # fmt: skip
    """Sweep and write this period's pending deliveries; IntegrityError if already planned.

    `links` adds the signed Acknowledge / Mark complete links to each digest (worker/mail/links.py):
    they are stored in the ledger with the rest, so every attempt sends the same message.
    """
    claim = PlanRun(kind=KIND, period=period)
    session.add(claim)
    session.flush()
    rows = deliveries_due(session, rules, tz, period, partnership, links, claim, cover)
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def deliveries_due(session: Session, rules: Rules, tz: ZoneInfo, period: date,
                   partnership: str, links: Decorate | None = None,
                   claim: PlanRun | None = None,
                   cover: Cover | None = None) -> list[Delivery]:  # fmt: skip
    """Sweep, then the ledger rows of this period's digests, not yet added to the session:
    `plan` writes them (and notes on its `claim` who could be told), a preview looks at them
    and rolls everything back. `cover`: who is away this period, and who covers for them."""
    unassessed: list[Unassessed] = []
    bring_up_to_date(session, rules, tz, period, unassessed)
    previous = Previous.read(session, period)
    assessor = Assessor.build(session, rules, period)
    hearing = Listeners.find(session, assessor, previous)
    if claim is not None:
        claim.reach = hearing.reach
        claim.changes_upto = session.scalar(select(func.max(StageChange.id)))
    open_items = assessor.each(stream(session, where=hearing.rows))
    inboxes = hearing.only(gather(open_items, resolved_since(session, assessor, previous)))
    inboxes = covered(inboxes, cover or {})
    attention = [could_not_assess(u, period) for u in unassessed]
    unknown = unknown_la_contacts(session, assessor.partnership, tz)
    attention += [Attention(u.sheet, u.problem, u.since.isoformat()) for u in unknown]
    manager = assessor.partnership.business_manager
    return due_deliveries(session, rules, period, partnership, inboxes, manager,
                          links=links, attention=attention)  # fmt: skip


@dataclass(frozen=True)
class Previous:
    """The last period planned before this one, and the newest stage change it knew of.

    What was written after it is news, even when written on that same day: an item assessed
    at once after an import or an event, once that day's digests had been planned.
    """

    period: date | None
    changes_upto: int | None = None

    @classmethod
    def read(cls, session: Session, period: date) -> Previous:
        query = (
            select(PlanRun.period, PlanRun.changes_upto)
            .where(PlanRun.kind == KIND, PlanRun.period < period)
            .order_by(PlanRun.period.desc())
            .limit(1)
        )
        row = session.execute(query).first()
        return cls(row.period, row.changes_upto) if row else cls(None)

    def resolved(self, today: date) -> ColumnElement[bool]:
        """Obligations resolved since this plan, up to `today`."""
        upto = Obligation.resolved_on <= today
        if self.period is None:
            return upto
        after = Obligation.resolved_on > self.period
        if self.changes_upto is not None:
            later = select(StageChange.obligation_id).where(StageChange.id > self.changes_upto)
            that_day = and_(Obligation.resolved_on == self.period, Obligation.id.in_(later))
            after = or_(after, that_day)
        return and_(upto, after)


@dataclass(frozen=True)
class Listeners:
    """The people whose digest may be due in a period, and the obligations to read for them.

    A superset: `Cadence` then decides, from each one's whole inbox, who is due.
    """

    people: frozenset[str] | None  # None: everyone (the week's first window)
    rows: list[ColumnElement[bool]]
    reach: str  # the signature of who could be told about what

    @classmethod
    def find(cls, session: Session, assessor: Assessor, previous: Previous) -> Listeners:
        """Everyone in the week's first window. Later, those whom an item with something to
        say can reach; and, if who reaches what changed since the last plan, everyone not yet
        sent a digest this week (someone who took over a role). The rest had an empty inbox
        or this week's digest at the last plan, and nothing has happened to them since."""
        period, start = assessor.today, week_start(assessor.today, assessor.calendar)
        reach = Reach.load(session, assessor.partnership)
        if previous.period is None or previous.period < start:
            return cls(None, [], reach.signature)
        people = reach.people_of(owners_where(session, something_to_say(assessor, previous, start)))
        daily = daily_readers(session)  # they hear whenever they have items
        people |= {p for p in reach.people if p.lower() in daily}
        last = PlanRun.period == previous.period
        before = select(PlanRun.reach).where(PlanRun.kind == KIND, last)
        if session.scalar(before) != reach.signature:
            heard = {e for e, d in last_sent(session, period).items() if d >= start}
            people |= reach.people - heard
        rows = reach.rows_of(people, officer_stage(session, assessor.ladder))
        return cls(frozenset(people), [rows], reach.signature)

    def only(self, inboxes: dict[str, Inbox]) -> dict[str, Inbox]:
        if self.people is None:
            return inboxes
        return {email: inbox for email, inbox in inboxes.items() if email in self.people}


def something_to_say(assessor: Assessor, previous: Previous, start: date) -> ColumnElement[bool]:
    """Obligations that may be news this period: assessed today (a stage entered, a reminder,
    an event), changed stage this week, serious enough for a daily digest, or just resolved."""
    period = assessor.today
    moved = select(StageChange.obligation_id).where(StageChange.on.between(start, period))
    live = or_(
        Obligation.assessed_on == period,
        Obligation.stage >= assessor.rules.digests.daily_from_stage,
        Obligation.id.in_(moved),
    )
    return or_(and_(Obligation.resolved_on.is_(None), live), previous.resolved(period))


def could_not_assess(found: Unassessed, period: date) -> Attention:
    since = found.row.problem_since or period
    return Attention(found.ref, f"could not assess: {found.reason}", since.isoformat())


def resolved_since(session: Session, assessor: Assessor, previous: Previous) -> list[Assessment]:
    """Obligations resolved since the last planned period: everyone told hears once."""
    since = [previous.resolved(assessor.today)]
    found = []
    for row in stream(session, include_resolved=True, where=since):
        assessed = assessor.on(row.resolved_on or assessor.today).attempt(row)
        if isinstance(assessed, Assessment):
            found.append(assessed)
    return found


def due_deliveries(session: Session, rules: Rules, period: date, partnership: str,
                   inboxes: dict[str, Inbox], manager: Person | None, *,
                   links: Decorate | None = None,
                   attention: Sequence[Attention] = ()) -> list[Delivery]:  # fmt: skip
    """The digests due this period. The business manager's also carries the failed digests
    not yet reported (always due then) and what needs their attention (due when new)."""
    cadence = Cadence(rules.digests.daily_from_stage, week_start(period, rules.calendar()),
                      daily_readers(session))  # fmt: skip
    last, moved = last_sent(session, period), changed_keys(session, cadence.week_start, period)
    marks = plan_marks(session, cadence.week_start, period)
    failures = report_failures(session, period) if manager is not None else []
    if manager is not None and (failures or attention):
        open_inbox(inboxes, manager)
    rows, held = [], undeliverable.marked(session)
    for email, inbox in inboxes.items():
        since = last.get(email, date.min)
        news = any(is_news(change, since, marks.get(since)) for i in inbox.items
                   for change in moved.get(i.key, []))  # fmt: skip
        mine = manager is not None and email == manager.email
        undelivered, notes = (failures, attention) if mine else ([], ())
        fresh = any(date.fromisoformat(n.since) > since for n in notes)
        if undelivered or fresh or cadence.due(inbox, last.get(email), news):
            digest = digest_for(inbox, period, partnership, undelivered, notes)
            rows.append(hold(ledger_row(links(digest) if links else digest), held))
    return rows


def hold(row: Delivery, marked: dict[str, UndeliverableAddress]) -> Delivery:
    """The row held, not pending, when its address was refused for good and not corrected."""
    mark = marked.get(row.recipient.lower())
    if mark is not None and row.state is DeliveryState.PENDING:
        row.state, row.last_error = DeliveryState.HELD, undeliverable.held_for(mark)
    return row


def open_inbox(inboxes: dict[str, Inbox], manager: Person) -> None:
    reason = "the partnership's business manager"
    recipient = Recipient(manager.name, manager.email, "business_manager", reason)
    inboxes.setdefault(manager.email, Inbox(recipient))


def report_failures(session: Session, period: date) -> list[Undelivered]:
    """Failed digests not yet reported, marked as reported in this period."""
    query = select(Delivery).where(
        Delivery.state == DeliveryState.FAILED, Delivery.reported_on.is_(None)
    )
    rows = list(session.scalars(query.order_by(Delivery.period, Delivery.recipient)))
    for row in rows:
        row.reported_on = period
    return [Undelivered(r.recipient, r.period.isoformat(), r.last_error or "refused") for r in rows]


def ledger_row(digest: Digest) -> Delivery:
    """The digest's row in the ledger; one that cannot even be given a subject is written
    as failed, with the reason, and the others go ahead."""
    top = max((i.stage for i in digest.items), default=-1)
    row = Delivery(recipient=digest.email, kind=KIND, period=date.fromisoformat(digest.period),
                   state=DeliveryState.PENDING, payload=digest.to_json(), subject="",
                   top_stage=top, attempts=0)  # fmt: skip
    try:
        row.subject = subject_line(digest)
    except Exception as exc:  # a template that breaks for one reader must not stop the rest
        log.exception("digest for %s could not be rendered", digest.email)
        row.state, row.last_error = DeliveryState.FAILED, f"cannot build the message: {exc}"
    return row


def last_sent(session: Session, before: date) -> dict[str, date]:
    """Each recipient's latest digest period before `before` (planned counts as sent)."""
    query = (
        select(Delivery.recipient, func.max(Delivery.period))
        .where(
            Delivery.kind == KIND, Delivery.period < before, Delivery.state != DeliveryState.FAILED
        )
        .group_by(Delivery.recipient)
    )
    return {recipient: period for recipient, period in session.execute(query)}


Written = tuple[date, int]  # a stage change: its day, and its place in the order of writing


def changed_keys(session: Session, start: date, period: date) -> dict[str, list[Written]]:
    """Obligation key → the stage changes written for it this week. Earlier changes are news
    to nobody: whoever has not had a digest since the week began is due one anyway."""
    query = (
        select(Obligation.key, StageChange.on, StageChange.id)
        .join(StageChange.obligation)
        .where(StageChange.on.between(start, period))
    )
    moved: dict[str, list[Written]] = defaultdict(list)
    for key, on, number in session.execute(query):
        moved[key].append((on, number))
    return moved


def plan_marks(session: Session, start: date, period: date) -> dict[date, int]:
    """This week's planned periods → the newest stage change each knew of."""
    query = select(PlanRun.period, PlanRun.changes_upto).where(
        PlanRun.kind == KIND, PlanRun.period.between(start, period)
    )
    return {day: mark for day, mark in session.execute(query) if mark is not None}


def is_news(change: Written, last_period: date, mark: int | None) -> bool:
    """Whether a reader whose last digest was for `last_period` has not heard of `change`:
    written for a later day, or for that day after that digest was planned (a run for an
    earlier day, asked for later, is news to nobody)."""
    on, number = change
    return on > last_period or (on == last_period and mark is not None and number > mark)


# ---------------------------------------------------------------------------------------------
# Stages entered within the day: told at once

NOTICE = "now-"  # the kind of a notice is this and the newest stage change it tells


def plan_notices(session: Session, rules: Rules, tz: ZoneInfo, now: datetime,
                 partnership: str, links: Decorate | None = None,
                 cover: Cover | None = None) -> list[int]:  # fmt: skip
    """Tell at once of the stages entered today after the send time (hours, the same working
    day after them), or on a day without digests (calendar days): one notice per person of
    those items, planned once (a unique row per newest stage change told, as `plan` claims a
    period). Only from the send time on: before it, the day's digest carries them. The next
    digest carries them too, as news. IntegrityError if another beat planned the same."""
    local = now.astimezone(tz)
    today, cal = local.date(), rules.calendar()
    if local.time() < rules.digests.send_at:
        return []
    bring_up_to_date(session, rules, tz, today)
    told = session.scalar(select(func.max(PlanRun.changes_upto))) or 0
    query = select(StageChange.id, StageChange.obligation_id).where(
        StageChange.id > told, StageChange.on == today,
        StageChange.to_stage > StageChange.from_stage, StageChange.to_stage >= 1)  # fmt: skip
    found = dict(session.execute(query).all())
    if not found:
        return []
    assessor = Assessor.build(session, rules, today)
    send = datetime.combine(today, rules.digests.send_at)
    working = cal.is_working_day(today)
    due = [a for a in assessor.each(stream(session, where=[Obligation.id.in_(set(found.values()))]))
           if a.decision.entered_at and a.decision.entered_at.date() == today
           and (not working or a.decision.entered_at > send)]  # fmt: skip
    upto = max(found)
    session.add(PlanRun(kind=f"{NOTICE}{upto}", period=today, changes_upto=upto))
    session.flush()
    rows = [notice_row(digest_for(inbox, today, partnership), upto, links)
            for inbox in covered(gather(due, []), cover or {}).values()]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def notice_row(digest: Digest, upto: int, links: Decorate | None) -> Delivery:
    row = ledger_row(links(digest) if links else digest)
    row.kind = f"{NOTICE}{upto}"
    return row
