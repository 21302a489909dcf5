"""Late bounces: the delivery reports in the bounce mailbox (a maildir the mail server
delivers `bounce_address` to) read into the ledger.

Each message is read once: a report's failures are recorded (`ledger.bounced`) in one
transaction, and only then is the message marked seen (maildir flag S), so a crash between
the two means it is read again, which changes nothing more. Anything that is not a report (an
out-of-office reply, a person answering) is left unread and flagged (F) for people to read.
"""

from __future__ import annotations

import fcntl
import logging
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from worker.db import transaction
from worker.delivery.afterwards import bounced
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
    """Each message not read before, in one reader at a time (the beat's task and the
    command may meet: the second waits for the first)."""
    read = Read()
    with (folder / ".reminders-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in sorted([*(folder / "new").iterdir(), *(folder / "cur").iterdir()]):
            if path.is_file() and not {"S", "F"} & flags_of(path):
                read_one(factory, path, read)
    return read


def read_one(factory: sessionmaker[Session], path: Path, read: Read) -> None:
    try:
        with transaction(factory) as session:
            report = record(session, PARSER.parsebytes(path.read_bytes()), read)
    except (ValueError, LookupError, TypeError, AttributeError):  # a message past reading
        log.exception("a message in the bounce mailbox could not be read; flagged")
        read.others, report = read.others + 1, False
    flagged(path, "S" if report else "F")


def flags_of(path: Path) -> set[str]:
    """A maildir message's flags: the letters after ":2," in its name."""
    name = path.name
    return set(name.split(":2,", 1)[1]) if ":2," in name else set()


def flagged(path: Path, flag: str) -> None:
    """Move the message to cur/ with `flag` added (the maildir way: a rename, the message's
    bytes untouched)."""
    key = path.name.split(":", 1)[0]
    letters = "".join(sorted(flags_of(path) | {flag}))
    path.rename(path.parent.parent / "cur" / f"{key}:2,{letters}")


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
        elif row.recipient not in read.marked:
            read.marked.append(row.recipient)
            log.warning("a digest bounced after delivery: %s", bounce.diagnostic)
    return True
