"""The dead-man alarm: an operator learns when a day's digests did not go out.

Every tick looks at the latest working day whose send time plus `alarm_grace_minutes` has
passed, and any since the last it judged. If such a period was never planned (the machine
was down, or every tick failed) or some of its digests are still waiting to go, the operator
is told once: by e-mail to `operator_email`, and on an outside monitor at `ping_url` +
"/fail". When every digest of the period has gone, the monitor hears so at `ping_url`
itself (at once, within the grace too); the planning of a period pings `ping_url` +
"/start" (healthchecks.io's convention). A machine that is dead pings nothing at all, and
the monitor, expecting a ping every working day, notices that too.

A new installation is not alarmed about days before it first planned any digests.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from worker.app import App
from worker.db import transaction
from worker.delivery.planning import latest_period, send_period
from worker.mail.digest import KIND
from worker.mail.message import parse_address
from worker.mail.transports import transport_for
from worker.models import Delivery, DeliveryState, DigestWatch, PlanRun
from worker.settings import Settings
from worker.templating import render_text

log = logging.getLogger(__name__)
PING_TIMEOUT = 10.0
WAITING = (DeliveryState.PENDING, DeliveryState.SENDING)
LOOK_BACK = 5  # working days judged at most in one tick, the latest among them


@dataclass(frozen=True)
class Period:
    """How one period's digests stand: planned or not, and how many of each state."""

    day: date
    planned: bool
    ran_before: bool  # a period before it was planned: the service was running by then
    counts: dict[str, int]

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in WAITING)

    def trouble(self) -> str | None:
        """What went wrong with the period's digests, or None when all went."""
        if not self.planned:
            return "they were never planned: no tick ran after their send time" \
                if self.ran_before else None  # fmt: skip
        if self.waiting:
            return f"{self.waiting} of {sum(self.counts.values())} are still waiting to be sent"
        return None


def checked_period(now: datetime, app: App) -> date:
    """The latest working day whose send time, plus the grace, has passed."""
    grace = timedelta(minutes=app.settings.alarm_grace_minutes)
    return latest_period(now - grace, app.rules(), app.timezone)


def read(session: Session, day: date) -> Period:
    planned = session.scalar(select(PlanRun.id).where(PlanRun.kind == KIND, PlanRun.period == day))
    before = session.scalar(select(PlanRun.id).where(PlanRun.kind == KIND, PlanRun.period < day))
    query = select(Delivery.state, func.count()).where(Delivery.period == day)
    counts = {str(state): n for state, n in session.execute(query.group_by(Delivery.state))}
    return Period(day, planned is not None, before is not None, counts)


def watch(app: App, now: datetime) -> list[str]:
    """Tell the operator and the monitor how each due period's digests stand, once each: the
    latest, and any before it since the last one that was judged (a machine that was down
    all of Tuesday hears of Tuesday on Wednesday, however late it comes back). The alarms
    raised, if any."""
    raised = []
    checked = checked_period(now, app)
    for day in unjudged(app, checked):
        alarm = watch_day(app, day, now)
        if alarm:
            raised.append(alarm)
    today = send_period(now, app.rules(), app.timezone)
    if today is not None and today > checked:  # within its grace: all gone is said at once
        watch_day(app, today, now, may_alarm=False)
    return raised


def unjudged(app: App, checked: date) -> list[date]:
    """The working days from the one after the last judged (its digests all went, or its
    alarm was raised) to `checked`, at most `LOOK_BACK` of them."""
    calendar = app.rules().calendar()
    with app.sessions() as session:
        judged = or_(DigestWatch.sent_pinged_at.is_not(None), DigestWatch.alarm_at.is_not(None))
        last = session.scalar(select(func.max(DigestWatch.period)).where(judged))
    days = [checked]
    while len(days) < LOOK_BACK:
        before = calendar.add(days[0], -1)
        if last is None or before <= last:
            break
        days.insert(0, before)
    return days


def watch_day(app: App, day: date, now: datetime, may_alarm: bool = True) -> str | None:
    with app.sessions() as session:
        period = read(session, day)
    trouble = period.trouble() if may_alarm else None
    if trouble and claim(app, day, DigestWatch.alarm_at, now, alarm=trouble):
        log.error("the digests for %s did not go out: %s", day.isoformat(), trouble)
        tell_operator(app.settings, day, trouble, period, now)
        ping(app.settings, "/fail")
        return trouble
    if period.planned and not period.waiting and claim(app, day, DigestWatch.sent_pinged_at, now):
        ping(app.settings, "")
    return None


def planning_started(app: App, day: date, now: datetime) -> None:
    """The monitor told that `day`'s digests are being planned (once per period)."""
    if claim(app, day, DigestWatch.started_pinged_at, now):
        ping(app.settings, "/start")


def claim(app: App, day: date, moment: InstrumentedAttribute[datetime | None], now: datetime,
          **also: str) -> bool:  # fmt: skip
    """Whether this process is the first to set `moment` of `day`'s watch, which it now
    has, with `also`. Ticks that overlap race here, and only one of them wins: the row is
    made if missing, then set where still unset, in one transaction that holds the row."""
    with transaction(app.sessions) as session:
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        session.execute(dialect.insert(DigestWatch).values(period=day).on_conflict_do_nothing())
        unset = (DigestWatch.period == day) & moment.is_(None)
        done = session.execute(update(DigestWatch).where(unset).values({moment: now, **also}))
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def ping(settings: Settings, suffix: str) -> None:
    """`ping_url` + suffix, when set; a monitor that cannot be reached is logged, never fatal."""
    if settings.ping_url is None:
        return
    url = settings.ping_url.get_secret_value().rstrip("/") + suffix
    try:
        httpx.post(url, timeout=PING_TIMEOUT, content=b"").raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("the monitor could not be pinged (%s): %s", suffix or "success", exc)


def tell_operator(settings: Settings, day: date, alarm: str, period: Period, now: datetime
                  ) -> None:  # fmt: skip
    if settings.operator_email is None:
        log.error("no operator_email is set, so nobody is told by e-mail")
        return
    message = alarm_message(settings, day, alarm, period, now)
    transport = transport_for(settings)
    try:
        transport.send(message)
    except Exception:  # the relay may be what failed; the log and the monitor remain
        log.exception("the operator could not be told by e-mail")
    finally:
        transport.close()


def alarm_message(settings: Settings, day: date, alarm: str, period: Period, now: datetime
                  ) -> EmailMessage:  # fmt: skip
    context = {"day": day, "alarm": alarm, "counts": period.counts,
               "grace": settings.alarm_grace_minutes}  # fmt: skip
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = parse_address(settings.mail_from, what="sender")
    message["To"] = parse_address(settings.operator_email or "", what="recipient")
    message["Subject"] = render_text("email/alarm/subject.txt", **context).strip()
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.partnership_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text("email/alarm/body.txt", **context))
    return message
