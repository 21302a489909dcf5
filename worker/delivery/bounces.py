"""Late bounces: the delivery reports in the bounce mailbox (a maildir the mail server
delivers `bounce_address` to) read into the ledger.

Each message is read once: a report's failures are recorded (`ledger.bounced`) in one
transaction, and only then is the message marked seen (maildir flag S), so a crash between
the two means it is read again, which changes nothing more. Anything that is not a report (an
out-of-office reply, a person answering) is left unread and flagged (F) for people to read.
"""

from __future__ import annotations

import logging
import mailbox
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.delivery.ledger import bounced
from worker.mail.bounces import bounces_in

log = logging.getLogger(__name__)
PARSER = BytesParser(policy=policy.default)


@dataclass
class Read:
    """What one reading of the mailbox found."""

    reports: int = 0
    others: int = 0  # not delivery reports: left for people
    marked: list[str] = field(default_factory=list)  # addresses marked undeliverable
    unknown: int = 0  # failures of messages that are not digests of ours


def read_bounces(factory: sessionmaker[Session], folder: Path) -> Read:
    box, read = mailbox.Maildir(folder, create=False), Read()
    for key in list(box.keys()):
        message = box.get_message(key)
        if {"S", "F"} & set(message.get_flags()):
            continue
        with transaction(factory) as session:
            report = record(session, PARSER.parsebytes(message.as_bytes()), read)
        message.set_subdir("cur")
        message.add_flag("S" if report else "F")
        box[key] = message
    return read


def record(session: Session, message: EmailMessage, read: Read) -> bool:
    """Whether `message` is a delivery report with failures (then recorded)."""
    failures = bounces_in(message)
    if not failures:
        read.others += 1
        return False
    read.reports += 1
    for bounce in failures:
        row = bounced(session, bounce)
        if row is None:
            read.unknown += 1
        elif bounce.recipient not in read.marked:
            read.marked.append(bounce.recipient)
            log.warning("%s bounced after delivery: %s", bounce.recipient, bounce.diagnostic)
    return True
