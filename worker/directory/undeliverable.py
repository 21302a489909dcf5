"""Addresses the relay refused for good, and the digests held for them.

A permanent refusal (a 5xx reply) marks the address undeliverable, with the relay's reply
(`mark`, written with the refusal itself). While it is marked, every digest planned for it is
held (`held_for`): never sent, never lost. Correcting the address (`correct`: to a new
address, or to the same one once its mailbox is mended) sends the refused digest and every
held one to the corrected address at the next push, in period order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import EmailStr, TypeAdapter
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from worker.models import Delivery, DeliveryState, UndeliverableAddress

EMAIL = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class Released:
    """What a correction did: digests on their way again, and those it could not send."""

    sent_again: int
    clashing: int  # the corrected address already had its own digest for that period


def marked(session: Session) -> dict[str, UndeliverableAddress]:
    """Every address marked and not yet corrected, by its lower-case form."""
    query = select(UndeliverableAddress).where(UndeliverableAddress.corrected_at.is_(None))
    return {row.address: row for row in session.scalars(query.order_by(UndeliverableAddress.id))}


def mark(session: Session, refused: Delivery, reply: str) -> None:
    """The relay refused `refused` for good: its address is undeliverable (once)."""
    address = refused.recipient.lower()
    if address not in marked(session):
        session.add(UndeliverableAddress(address=address, reply=reply[:2000],
                                         delivery_id=refused.id))  # fmt: skip


def held_for(mark: UndeliverableAddress) -> str:
    """Why a digest is held, as the ledger and the console say it."""
    return f"held: {mark.address} was refused for good ({mark.reply}); sent once corrected"


def correct(session: Session, address: str, to: str, by: str, now: datetime) -> Released:
    """`address` is corrected to `to` (the same address: its mailbox was mended). The refused
    digest and those held go to `to` at the next push. A digest `to` already has for the
    same period stays as it is, and the held one is kept as failed, saying why."""
    old, new = address.strip().lower(), to.strip().lower()
    open_ = UndeliverableAddress.corrected_at.is_(None)
    query = select(UndeliverableAddress).where(UndeliverableAddress.address == old, open_)
    marks = list(session.scalars(query))  # two refusals at once may have made two
    if not marks:
        return Released(0, 0)
    for found in marks:
        found.corrected_at, found.corrected_to, found.corrected_by = now, new, by
    refused = and_(Delivery.state == DeliveryState.FAILED,
                   Delivery.id.in_([m.delivery_id for m in marks]))  # fmt: skip
    waiting = select(Delivery).where(
        func.lower(Delivery.recipient) == old,
        or_(Delivery.state == DeliveryState.HELD, refused),
    )
    mine = func.lower(Delivery.recipient) == new
    taken = set(session.scalars(select(Delivery.period).where(mine)))
    again = clashing = 0
    for row in session.scalars(waiting.order_by(Delivery.period)):
        if row.period in taken and new.lower() != old:
            row.state = DeliveryState.FAILED
            row.last_error = f"not sent after the correction: {new} had its own digest"
            clashing += 1
            continue
        row.recipient, row.payload = new, {**row.payload, "email": new}
        row.state, row.attempts, row.last_error = DeliveryState.PENDING, 0, None
        row.next_attempt_at = row.enqueued_at = row.lease_until = None
        again += 1
    return Released(again, clashing)
