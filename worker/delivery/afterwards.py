"""What the ledger learns of a digest after the transport took it: GOV.UK Notify's delivery
receipts, and the late bounces of mailboxes that accepted nothing after all.

A failure for good is recorded as a refusal at the relay is (`ledger.refused_for_good`): the
digest failed with the words given, its address marked undeliverable, or, when the address
is marked already, the digest held with the others and released with them by `directory
correct`. Each receipt or report acts once: a digest is found only by what our own sending
gave it (its Message-ID, and Notify's id for the message as last sent), and only while it
stands as sent.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.delivery.ledger import MAX_ATTEMPTS, backoff
from worker.directory import undeliverable
from worker.mail.bounces import Bounce
from worker.mail.notify import COMPLAINT
from worker.models import Delivery, DeliveryState

log = logging.getLogger(__name__)

# Notify's statuses for an e-mail it has finished with (its callbacks' `status`).
RECEIPTS = frozenset({"delivered", "permanent-failure", "temporary-failure", "technical-failure"})


def receipt(session: Session, reference: str, provider_id: str, status: str, now: datetime
            ) -> str:  # fmt: skip
    """What a Notify receipt for the digest sent as `reference` (its Message-ID without <>)
    and named `provider_id` by Notify did: "later" while the digest is still being recorded
    as sent (Notify sends the receipt again), else the status acted on, or "nothing"."""
    if status not in RECEIPTS:
        return "nothing"
    row = session.scalar(select(Delivery).where(Delivery.message_id == f"<{reference}>"))
    if row is None:
        return "nothing"
    if row.state is DeliveryState.SENDING:
        return "later"
    taken = session.execute(
        update(Delivery)
        .where(Delivery.id == row.id, Delivery.provider_id == provider_id,
               Delivery.state == DeliveryState.SENT, Delivery.receipt.is_(None))
        .values(receipt=status)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(taken, "rowcount", 0) != 1:
        return "nothing"  # replayed, stale (sent again since), or finished otherwise
    session.refresh(row)
    return acted_on(session, row, status, now)


def complaint(session: Session, reference: str, provider_id: str) -> str:
    """A Notify complaint (its recipient reported the digest sent as `reference`, named
    `provider_id`, as spam): kept as the digest's receipt, which the business manager sees
    on the overview beside the address. "complaint", or "nothing" when it is not ours."""
    taken = session.execute(
        update(Delivery)
        .where(Delivery.message_id == f"<{reference}>", Delivery.provider_id == provider_id,
               Delivery.state == DeliveryState.SENT)
        .values(receipt=COMPLAINT)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return "complaint" if getattr(taken, "rowcount", 0) == 1 else "nothing"


def acted_on(session: Session, row: Delivery, status: str, now: datetime) -> str:
    said = f"Notify: {status}"
    if status == "permanent-failure":
        fail_after_delivery(session, row, f"{said}: the address does not accept mail")
        return "undeliverable"
    if status == "delivered":
        return status
    if row.attempts >= MAX_ATTEMPTS:
        row.state, row.last_error = DeliveryState.FAILED, f"gave up: {said}"
        return "failed"
    delay = backoff(row.attempts, random.random())  # noqa: S311 - jitter, not security
    row.state, row.last_error = DeliveryState.PENDING, said
    row.next_attempt_at, row.enqueued_at = now + timedelta(seconds=delay), None
    return "again"


def fail_after_delivery(session: Session, row: Delivery, reply: str) -> None:
    """The address refused `row` after the transport took it: failed and the address marked;
    held with the others when it is marked already."""
    mark = undeliverable.marked(session).get(row.recipient.lower())
    if mark is not None and mark.delivery_id != row.id:
        row.state, row.last_error = DeliveryState.HELD, undeliverable.held_for(mark)
        return
    row.state, row.last_error = DeliveryState.FAILED, reply
    if mark is None:
        undeliverable.mark(session, row, reply)


def bounced(session: Session, bounce: Bounce) -> Delivery | None:
    """The digest a delivery report returns the Message-ID of, recorded as refused for good
    while it stands as sent (read again, the report changes nothing more); None when the
    report names none of ours. Anyone can write to the bounce mailbox, so a report is
    believed only when it returns a digest's Message-ID (only our sending knows it) and
    tells of that digest's own recipient (a report about someone else is logged, ignored)."""
    if not bounce.message_id:
        return None
    row = session.scalar(select(Delivery).where(Delivery.message_id == bounce.message_id))
    if row is not None and not bounce.is_for(row.recipient):
        log.warning("a delivery report about %s names a digest sent to someone else: ignored",
                    bounce.recipient)  # fmt: skip
        return None
    if row is not None and row.state is DeliveryState.SENT:
        reply = f"{bounce.status} {bounce.diagnostic} (reported by the mailbox after delivery)"
        fail_after_delivery(session, row, reply)
    return row
