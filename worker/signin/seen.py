"""Live console sessions this process read lately, so that a page need not read its session
from the database on every request.

Exactly what is promised:

* A session read from the database and found live is remembered by the process that read it
  for `RECHECK_SECONDS` (5 s), counted from before the read. Within that time a GET or HEAD
  with its cookie is answered without reading the session again. Every other request (a POST:
  every change anyone makes) reads it from the database, as before there was any memory.
* Whatever is remembered, each request still checks the session's idle and absolute
  lifetimes on its own clock, and its person against the directory in force
  (`App.directory`); a session due for its once-a-minute `last_seen_at` is read, and
  touched, again.
* A transaction of this process that ends a session through `sessions.end` or `end_all`
  (sign out, sign out everywhere, the business manager's ending, removal from the directory,
  a lifetime run out) makes this process forget every session it remembers when that
  transaction ends, so the next request with that cookie is refused at once; a read that
  began before then is not remembered after it.
* A session ended anywhere else (another server process, a `reminders` command, a change
  made in the database itself) is refused by this process at most `RECHECK_SECONDS` after
  the ending was committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from time import monotonic

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

RECHECK_SECONDS = 5.0
MOST_REMEMBERED = 10_000  # sessions; past that, all are forgotten and read again
ENDS_SESSIONS = "ends console sessions"  # in a database session's `info`: see `ending`


@dataclass(frozen=True)
class Live:
    """What a request needs of a live session, as read from the database."""

    id: int
    email: str
    created_at: datetime
    last_seen_at: datetime
    form_token_hash: str | None


@dataclass(frozen=True)
class Mark:
    """When a read of a session began: the clock, and how many forgettings came before."""

    at: float
    forgettings: int


class Seen:
    """The live sessions one process remembers, by the SHA-256 of their cookie's token."""

    def __init__(self, clock: Callable[[], float] = monotonic) -> None:
        self.clock = clock  # seconds, never going back (tests set their own)
        self._lock = Lock()
        self._live: dict[str, tuple[Live, float]] = {}
        self._forgettings = 0

    def recall(self, token_hash: str) -> Live | None:
        """The session of `token_hash` if it was read live less than RECHECK_SECONDS ago."""
        found = self._live.get(token_hash)
        if found is None or self.clock() - found[1] >= RECHECK_SECONDS:
            return None
        return found[0]

    def mark(self) -> Mark:
        """Taken before reading a session from the database, for `remember`."""
        with self._lock:
            return Mark(self.clock(), self._forgettings)

    def remember(self, token_hash: str, live: Live, since: Mark) -> None:
        """Keep `live`, read after `since`, unless this process ended a session meanwhile."""
        with self._lock:
            if since.forgettings != self._forgettings:
                return
            if len(self._live) >= MOST_REMEMBERED:
                self._live.clear()
            self._live[token_hash] = (live, since.at)

    def forget(self) -> None:
        with self._lock:
            self._forgettings += 1
            self._live.clear()


SEEN = Seen()  # this process's


def ending(session: Session) -> None:
    """`session`'s transaction ends console sessions: when it commits, this process forgets
    every session it remembers."""
    session.info[ENDS_SESSIONS] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_when_ended(session: Session, transaction: SessionTransaction) -> None:
    """After the outermost transaction (a savepoint's end is not the commit); after a
    rollback too, which forgets what need not be forgotten, never the other way round."""
    if transaction.parent is None and session.info.pop(ENDS_SESSIONS, False):
        SEEN.forget()
