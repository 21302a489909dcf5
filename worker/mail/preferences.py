"""What each person asked of their digests: daily where the rules would give weekly.

A preference can only make digests more frequent, never less than the rules say; it is theirs
to set (in the console), and planning reads it with everything else it reads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.models import DigestPreference


def daily_readers(session: Session) -> frozenset[str]:
    """The addresses (lower case) that asked for a digest every working day."""
    query = select(DigestPreference.email).where(DigestPreference.daily.is_(True))
    return frozenset(email.lower() for email in session.scalars(query))


def wants_daily(session: Session, email: str) -> bool:
    return email.lower() in daily_readers(session)


def choose(session: Session, email: str, daily: bool, now: datetime, client: str | None) -> None:
    """`email` asks for daily digests (or for what the rules say again)."""
    found = session.scalar(select(DigestPreference).where(DigestPreference.email == email.lower()))
    if found is None:
        session.add(DigestPreference(email=email.lower(), daily=daily, client=client))
        return
    found.daily, found.changed_at, found.client = daily, now, client
