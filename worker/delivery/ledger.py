"""The delivery ledger: claim a row, send it once, record the outcome. Never lose one.

No part of Celery, Redis or SMTP is exactly-once; the database row is the only record to
trust. A row is claimed with a conditional UPDATE (no row changed: another worker has it),
and its lease, attempt count and Message-ID are committed before the SMTP DATA.

A lease running out does not make a row abandoned: its worker may be alive, holding a
message the relay accepted, and waiting for the database to come back to record it (the
lease's clock runs on through an outage, when nobody can record anything). So the recovery
pass first calls such a row in: it sets `next_attempt_at` to `CALL_IN` seconds on, at a
moment the database was reachable, and leaves the claim standing (the attempt count that
fences the outcome write unchanged). Only when that time has passed too, with no outcome
recorded, may another worker claim the row. A worker whose outcome write rides out an outage
(`Persist`, tries at most a second apart) records it within those seconds, however long the
outage was, up to the write's patience.

The one unavoidable window: the relay accepts the message (250) and the worker dies before
the "sent" commit, or the database stays out of its reach for longer than the write's
patience. When the lease and the call-in have run out, the recovery pass sends the row
again, with the SAME Message-ID. The policy is at-least-once: a reminder that may, rarely,
arrive twice (and which mail systems that honour Message-ID show once) is better than one
lost.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.directory import undeliverable
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.mail.transport import (
    DailyLimitError,
    PermanentError,
    RecipientRefusedError,
    TransientError,
    Transport,
)
from worker.models import Delivery, DeliveryState
from worker.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
# An outcome write that finds the database unreachable is tried again for as long as the
# row's lease, and at least this many seconds: the outage it rides out without a second send.
LEAST_PATIENCE = 70.0
# Seconds a row past its lease waits, once the recovery pass has reached the database and
# called it in, before another worker may take it: ten of its own worker's outcome writes.
CALL_IN = 10.0
# Backoff: 30 s doubling, at most 15 min: far below the broker's one-hour visibility timeout.
FIRST_DELAY, LONGEST_DELAY = 30.0, 900.0


@dataclass(frozen=True)
class Outcome:
    state: str  # sent | retry | failed | skipped
    retry_in: float | None = None
    reason: str = ""


def backoff(attempt: int, jitter: float, first: float = FIRST_DELAY) -> float:
    """Exponential with jitter (`jitter` in [0, 1)), so retries of many rows spread out."""
    ceiling = min(first * 2.0 ** (attempt - 1), LONGEST_DELAY)
    return ceiling * (0.5 + jitter / 2)


def retry_delays(patience: float) -> Iterator[float]:
    """Seconds to wait between attempts to write an outcome: 0.2 s at first, growing to at
    most 1 s, for `patience` seconds in all. Never longer than a second, so the outcome is
    written as soon as the database is back, before the lease runs out and the recovery pass
    may take the row for abandoned and send it again."""
    waited, delay = 0.0, 0.2
    while waited < patience:
        yield delay
        waited += delay
        delay = min(delay * 1.5, 1.0)


def claimable(now: datetime) -> object:
    """Pending and due; or sending, past its lease, called in, and past the call-in too."""
    due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    pending = and_(Delivery.state == DeliveryState.PENDING, due)
    called_in = and_(Delivery.next_attempt_at.is_not(None), Delivery.next_attempt_at <= now)
    abandoned = and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now, called_in)
    return or_(pending, abandoned)


def claim(
    session: Session, delivery_id: int, now: datetime, domain: str, lease: float = 300.0
) -> Delivery | None:
    """Take the row for this worker, or None when someone else has it or it is done."""
    # Short enough that the header is never folded; unique by row and a random part.
    message_id = f"<digest.{delivery_id}.{secrets.token_hex(6)}@{domain}>"
    taken = (
        update(Delivery)
        .where(Delivery.id == delivery_id, claimable(now))  # type: ignore[arg-type]
        .values(
            state=DeliveryState.SENDING,
            attempts=Delivery.attempts + 1,
            lease_until=now + timedelta(seconds=lease),
            next_attempt_at=None,  # held: nobody else's attempt is due until it is called in
            message_id=func.coalesce(Delivery.message_id, message_id),
        )
        .returning(Delivery)  # the row as claimed, in the same statement
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.scalars(taken).one_or_none()


def finish(session: Session, row: Delivery, **values: object) -> bool:
    """Record the outcome, only if our claim still stands (fenced by the attempt count)."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == row.id,
            Delivery.state == DeliveryState.SENDING,
            Delivery.attempts == row.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def deliver(
    factory: sessionmaker[Session],
    transport: Transport,
    settings: Settings,
    delivery_id: int,
    now: datetime,
) -> Outcome:
    with transaction(factory) as session:
        row = claim(session, delivery_id, now, settings.partnership_domain, settings.lease_seconds)
        if row is None:
            return Outcome("skipped")
        session.expunge(row)
    persist = Persist(factory, max(settings.lease_seconds, LEAST_PATIENCE))
    try:
        message = digest_message(row, settings, now)
    except Exception as exc:  # an unusable address, a template or payload that breaks
        log.exception("digest %s could not be built", delivery_id)
        return failed_for_good(persist, row, f"cannot build the message: {exc}")
    try:
        provider_id = transport.send(message)
    except DailyLimitError as exc:
        return paused_for_the_day(persist, row, now, str(exc))
    except TransientError as exc:
        return failed_for_now(persist, row, now, str(exc), settings.retry_first_delay_seconds)
    except RecipientRefusedError as exc:
        return refused_for_good(persist, row, str(exc))
    except PermanentError as exc:  # the relay, the sender or the message: not the address
        return failed_for_good(persist, row, str(exc))
    persist(lambda s: finish(s, row, state=DeliveryState.SENT, sent_at=now, lease_until=None,
                             next_attempt_at=None, provider_id=provider_id,
                             receipt=None))  # fmt: skip
    return Outcome("sent")


@dataclass(frozen=True)
class Persist:
    """Writes an outcome, riding out a database outage for `patience` seconds: once the relay
    has accepted a message, losing this write is what would make it go out a second time."""

    factory: sessionmaker[Session]
    patience: float

    def __call__(self, write: Callable[[Session], object]) -> None:
        for delay in (*retry_delays(self.patience), None):
            try:
                with transaction(self.factory) as session:
                    write(session)
                return
            except DBAPIError as exc:
                if not unreachable(exc) or delay is None:
                    raise
                time.sleep(delay)


def unreachable(exc: DBAPIError) -> bool:
    """The database could not be reached, or the connection was lost: worth trying again.
    SQLAlchemy marks a lost connection whatever class the driver gave its error (psycopg
    raises a bare DatabaseError for an error libpq makes itself, without an SQLSTATE)."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def digest_message(row: Delivery, settings: Settings, now: datetime) -> EmailMessage:
    return build_digest_message(
        Digest.from_json(row.payload),
        sender=settings.mail_from,
        message_id=row.message_id or "",
        list_id=f"Partnership reminders <digests.{settings.partnership_domain}>",
        sent_at=now,
    )


def failed_for_now(
    persist: Persist, row: Delivery, now: datetime, reason: str, first: float
) -> Outcome:
    if row.attempts >= MAX_ATTEMPTS:
        return failed_for_good(persist, row, f"gave up after {row.attempts} attempts: {reason}")
    delay = backoff(row.attempts, random.random(), first)  # noqa: S311 - jitter, not security
    later = now + timedelta(seconds=delay)
    persist(lambda s: finish(s, row, state=DeliveryState.PENDING, lease_until=None,
                          next_attempt_at=later, last_error=reason))  # fmt: skip
    return Outcome("retry", delay, reason)


def paused_for_the_day(persist: Persist, row: Delivery, now: datetime, reason: str) -> Outcome:
    """The provider's daily limit is used up: pending until a minute after midnight UTC,
    when it resets, and this attempt not counted, so that no number of such days gives the
    digest up."""
    resumes = next_utc_midnight(now) + timedelta(minutes=1)
    persist(lambda s: finish(s, row, state=DeliveryState.PENDING, lease_until=None,
                             attempts=row.attempts - 1, next_attempt_at=resumes,
                             last_error=reason))  # fmt: skip
    return Outcome("retry", (resumes - now).total_seconds(), reason)


def next_utc_midnight(now: datetime) -> datetime:
    tomorrow = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC)


def failed_for_good(persist: Persist, row: Delivery, reason: str) -> Outcome:
    failed = DeliveryState.FAILED
    persist(lambda s: finish(s, row, state=failed, lease_until=None, last_error=reason))
    return Outcome("failed", reason=reason)


def refused_for_good(persist: Persist, row: Delivery, reply: str) -> Outcome:
    """The relay refused the address for good: failed, and the address marked undeliverable
    (its later digests are held until it is corrected); held, if it was marked already."""

    def write(session: Session) -> None:
        mark = undeliverable.marked(session).get(row.recipient.lower())
        if mark is not None:  # refused before: held with the others, released with them
            finish(session, row, state=DeliveryState.HELD, lease_until=None,
                   last_error=undeliverable.held_for(mark))  # fmt: skip
        elif finish(session, row, state=DeliveryState.FAILED, lease_until=None, last_error=reply):
            undeliverable.mark(session, row, reply)

    persist(write)
    return Outcome("failed", reason=reply)


def needing_a_push(session: Session, now: datetime, requeue_after: float = 600.0) -> list[int]:
    """Rows a lost worker or broker left behind: pending and not queued lately, or sending
    past their lease and their call-in. Each row past its lease and not yet called in is
    called in first (`call_in`). Re-enqueueing is safe: the claim lets only one worker send."""
    call_in(session, now)
    since = now - timedelta(seconds=requeue_after)
    stale = or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < since)
    query = select(Delivery.id).where(claimable(now), stale)  # type: ignore[arg-type]
    return list(session.scalars(query.order_by(Delivery.id)))


def call_in(session: Session, now: datetime) -> int:
    """Give every sending row past its lease `CALL_IN` more seconds, counted from now, when
    the database is reachable, for its worker to record what became of it; the rows called
    in. Its claim stands: the worker's outcome write, fenced by the attempt count, lands."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now,
               Delivery.next_attempt_at.is_(None))
        .values(next_attempt_at=now + timedelta(seconds=CALL_IN))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def released(session: Session) -> int:
    """After a restore: every row in flight when the backup was taken made claimable and
    queued again at once, since its worker, lease and queued task went with the old machine.
    One that was being sent then may have gone out: the window a lost lease always has."""
    in_flight = Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING])
    result = session.execute(
        update(Delivery).where(in_flight)
        .values(state=DeliveryState.PENDING, lease_until=None, enqueued_at=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_enqueued(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )  # fmt: skip


def resend(session: Session, delivery_id: int) -> bool:
    """Put a digest that failed for good back in the queue, with a fresh count of attempts;
    the next push sends it. False when it has not failed (nothing changed)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.FAILED)
        .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=None,
                enqueued_at=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
