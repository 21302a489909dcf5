"""Signed-in browsers, kept on the server so that any of them can be ended.

The cookie holds a random token; the table keeps its SHA-256, who it is for, when it began,
when it was last used, and when and why it ended, and the SHA-256 of the form token it was
given (a form carrying any other is refused). A session ends when its person signs out
(this browser or all of them), when the business manager ends it, when its person leaves the
directory, after `session_idle_minutes` without a request, and `session_lifetime_hours` after
it began however busy it is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.models import ConsoleSession
from worker.settings import Settings
from worker.signin.links import end_links
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

    def expiry(self, row: ConsoleSession, now: datetime) -> str | None:
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


def forms_match(row: ConsoleSession, form_token: str) -> bool:
    """Whether `form_token` is the one `row` was given."""
    given = row.form_token_hash
    return given is not None and secrets.compare_digest(given, hash_token(form_token))


def current(session: Session, token: str, now: datetime, life: Lifetimes) -> ConsoleSession | None:
    """The live session of `token`, touched; None when unknown, ended or run out (then
    ended, with the reason)."""
    if not plausible(token):
        return None
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token))
    )
    if row is None or row.ended_at is not None:
        return None
    why = life.expiry(row, now)
    if why is not None:
        end(row, now, why)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(row: ConsoleSession, now: datetime, why: str) -> None:
    if row.ended_at is None:
        row.ended_at, row.ended_why = now, why


def end_all(session: Session, email: str, now: datetime, why: str) -> int:
    """End every session and unused sign-in link of `email`; how many sessions ended."""
    ended = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.email == email.lower(), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now, ended_why=why)
    )
    end_links(session, email, now)
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
