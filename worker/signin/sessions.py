"""Signed-in browsers, kept on the server so that any of them can be ended.

The cookie holds a random token; the table keeps its SHA-256, who it is for, when it began,
when it was last used, and when and why it ended, and the SHA-256 of the form token it was
given (a form carrying any other is refused). A session ends when its person signs out
(this browser or all of them), when the business manager ends it, when its person leaves the
directory, after `session_idle_minutes` without a request, and `session_lifetime_hours` after
it began however busy it is.

A page reads its session through `checked`, which a process may answer from memory for a
few seconds (worker/signin/seen.py says exactly when an ended session is refused).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, sessionmaker

from worker.db import transaction
from worker.models import ConsoleSession
from worker.settings import Settings
from worker.signin.links import end_links
from worker.signin.seen import SEEN, Live, ending
from worker.tokens import hash_token, new_token, plausible

# last_seen_at is written at most this often, so reading pages does not mean a write each.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Lifetimes:
        return cls(
            timedelta(minutes=settings.session_idle_minutes),
            timedelta(hours=settings.session_lifetime_hours),
        )

    def expiry(self, row: ConsoleSession | Live, now: datetime) -> str | None:
        """Why `row` has run out at `now`, or None."""
        if now - row.created_at >= self.absolute:
            return "signed in too long ago"
        if now - row.last_seen_at >= self.idle:
            return "idle too long"
        return None


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the record."""

    address: str | None
    user_agent: str | None


def begin(session: Session, email: str, now: datetime, client: Client, form_token: str, *,
          signed_in_with: str) -> str:  # fmt: skip
    """A new session for `email`, bound to `form_token` (its forms' token) and begun by
    `signed_in_with` ("e-mail link", or an organisation sign-in's key); its cookie's token."""
    token = new_token()
    session.add(
        ConsoleSession(
            token_hash=hash_token(token),
            email=email.lower(),
            created_at=now,
            last_seen_at=now,
            client=client.address,
            user_agent=client.user_agent,
            form_token_hash=hash_token(form_token),
            signed_in_with=signed_in_with,
        )
    )
    return token


def forms_match(row: ConsoleSession | Live, form_token: str) -> bool:
    """Whether `form_token` is the one `row` was given."""
    given = row.form_token_hash
    return given is not None and secrets.compare_digest(given, hash_token(form_token))


def checked(factory: sessionmaker[Session], token: str, now: datetime, life: Lifetimes, *,
            recall: bool) -> Live | None:  # fmt: skip
    """The live session of `token`, or None. With `recall`, as this process remembers it
    (worker/signin/seen.py) while it needs no touch; otherwise read (touched, or ended if
    it has run out) in a transaction of its own, and remembered."""
    if not plausible(token):
        return None
    token_hash = hash_token(token)
    kept = SEEN.recall(token_hash) if recall else None
    if kept is not None and life.expiry(kept, now) is None and not due_a_touch(kept, now):
        return kept
    since = SEEN.mark()
    with transaction(factory) as session:
        row = current(session, token_hash, now, life)
        live = None if row is None else live_of(row)
    if live is not None:
        SEEN.remember(token_hash, live, since)
    return live


def live_of(row: ConsoleSession) -> Live:
    return Live(row.id, row.email, row.created_at, row.last_seen_at, row.form_token_hash)


def due_a_touch(row: ConsoleSession | Live, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def current(session: Session, token_hash: str, now: datetime, life: Lifetimes
            ) -> ConsoleSession | None:  # fmt: skip
    """The live session whose token hashes to `token_hash`, touched; None when unknown,
    ended or run out (then ended, with the reason)."""
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash))
    if row is None or row.ended_at is not None:
        return None
    why = life.expiry(row, now)
    if why is not None:
        end(row, now, why)
        return None
    if due_a_touch(row, now):
        row.last_seen_at = now
    return row


def end(row: ConsoleSession, now: datetime, why: str) -> None:
    """End `row` (in the database session it was read in)."""
    if row.ended_at is None:
        row.ended_at, row.ended_why = now, why
        session = object_session(row)
        if session is None:
            raise ValueError("a console session is ended in the database session it was read in")
        ending(session)


def end_all(session: Session, email: str, now: datetime, why: str) -> int:
    """End every session and unused sign-in link of `email`; how many sessions ended."""
    ended = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.email == email.lower(), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now, ended_why=why)
    )
    end_links(session, email, now)
    ending(session)
    return int(getattr(ended, "rowcount", 0))


def live(session: Session, now: datetime, life: Lifetimes) -> list[ConsoleSession]:
    """Sessions not ended and not run out, newest first (for the business manager)."""
    rows = session.scalars(
        select(ConsoleSession)
        .where(ConsoleSession.ended_at.is_(None), ConsoleSession.created_at > now - life.absolute,
               ConsoleSession.last_seen_at > now - life.idle)
        .order_by(ConsoleSession.last_seen_at.desc())
    )  # fmt: skip
    return list(rows)
