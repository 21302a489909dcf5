"""Delivery status notifications (RFC 3464): which of our messages a mailbox refused after the
relay had accepted them, the usual way with Exchange Online.

A report is a `multipart/report; report-type=delivery-status` message: a note for people, a
`message/delivery-status` part with a block per recipient (Final-Recipient, Action, Status,
Diagnostic-Code), and the returned message or its headers, whose Message-ID names the digest.
A block tells of its recipient by `Final-Recipient` and, where the mail server rewrote it
(a forward, an alias), `Original-Recipient`: both are kept, to be compared with the
digest's. Only `Action: failed` with a 5.x.x status is a bounce for good; a delay (4.x.x,
`delayed`) is not, nor is anything that is not a delivery report: an out-of-office reply, a
read receipt, a person answering the digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import parseaddr


@dataclass(frozen=True)
class Bounce:
    recipient: str  # lower case: Final-Recipient, else Original-Recipient
    status: str  # "5.1.1"
    diagnostic: str  # the remote server's words, or the status alone
    message_id: str | None  # of the message that bounced, when the report returns it
    original: str = ""  # lower case: Original-Recipient, when given

    def is_for(self, address: str) -> bool:
        """The report tells of `address` (as its final or its original recipient)."""
        return address.strip().lower() in {self.recipient, self.original} - {""}


def bounces_in(report: EmailMessage) -> list[Bounce]:
    """The permanent failures a delivery report tells of; [] for any other message."""
    if report.get_content_type() != "multipart/report":
        return []
    if str(report.get_param("report-type", "")).lower() != "delivery-status":
        return []
    status = returned = None
    for part in report.iter_parts():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            status = part
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            returned = part
    if status is None:
        return []
    message_id = message_id_of(returned) if returned is not None else None
    return [b for b in (failure(block, message_id) for block in blocks(status)) if b]


def blocks(status: Message) -> list[Message]:
    """The per-recipient blocks (the first block is the per-message one)."""
    payload = status.get_payload()
    return [p for p in payload[1:] if isinstance(p, Message)] if isinstance(payload, list) else []


def failure(block: Message, message_id: str | None) -> Bounce | None:
    action = str(block.get("Action", "")).strip().lower()
    status = str(block.get("Status", "")).strip().split(" ")[0]
    original = address_in(block.get("Original-Recipient"))
    recipient = address_in(block.get("Final-Recipient")) or original
    if action != "failed" or not status.startswith("5.") or not recipient:
        return None
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    words = diagnostic.split(";", 1)[-1].strip() or status
    return Bounce(recipient, status, words[:1000], message_id, original)


def address_in(field: object) -> str:
    """The address of a "rfc822; someone@example.org" field, in lower case."""
    if not field:
        return ""
    value = str(field).split(";", 1)[-1].strip()
    return parseaddr(value)[1].lower() if "@" in value else ""


def message_id_of(returned: Message) -> str | None:
    """The Message-ID of the returned message, whole or headers only."""
    if returned.get_content_type() == "message/rfc822":
        inner = returned.get_payload()
        headers = inner[0] if isinstance(inner, list) and inner else None
    else:
        headers = HeaderParser().parsestr(str(returned.get_payload()))
    found = headers.get("Message-ID") if isinstance(headers, Message) else None
    return str(found).strip() if found else None
