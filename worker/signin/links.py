"""One-time sign-in links: made for an address in the directory, sent by e-mail, used once.

A link holds a random token; only its SHA-256 is kept, with the address it was made for and
when it stops working (`sign_in_valid_minutes`, 15 by default). Opening the link shows a
Sign in button and changes nothing (mail scanners open every link in a message); the POST of
that button redeems it, once: the update that marks it used succeeds for one request only.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from worker.mail.message import one_line, parse_address
from worker.models import SignInLink
from worker.settings import Settings
from worker.templating import render_html, render_text
from worker.tokens import hash_token, new_token, plausible

PATH = "/console/sign-in/"


def new_link(session: Session, email: str, now: datetime, valid: timedelta) -> str:
    """A token for `email`, working until `now + valid`."""
    token = new_token()
    session.add(
        SignInLink(
            token_hash=hash_token(token),
            email=email.lower(),
            created_at=now,
            expires_at=now + valid,
        )
    )
    return token


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}{PATH}{token}"


def usable(session: Session, token: str, now: datetime) -> SignInLink | None:
    """The link, if it can still be used (for the page that offers the button)."""
    if not plausible(token):
        return None
    return session.scalar(select(SignInLink).where(SignInLink.token_hash == hash_token(token),
                                                   *still_good(now)))  # fmt: skip


def redeem(session: Session, token: str, now: datetime) -> str | None:
    """Use the link: the address it was made for, or None (unknown, used, ended, expired).
    Two requests with the same token: one gets the address, the other None."""
    if not plausible(token):
        return None
    wanted = SignInLink.token_hash == hash_token(token)
    used = session.execute(
        update(SignInLink).where(wanted, *still_good(now)).values(redeemed_at=now)
    )
    if getattr(used, "rowcount", 0) != 1:
        return None
    return session.scalar(select(SignInLink.email).where(wanted))


def still_good(now: datetime) -> tuple[ColumnElement[bool], ...]:
    ended = SignInLink.redeemed_at.is_not(None) | SignInLink.ended_at.is_not(None)
    return (~ended, SignInLink.expires_at > now)


def end_links(session: Session, email: str, now: datetime) -> None:
    """Stop every unused link of `email` (sign out everywhere, removal from the directory)."""
    session.execute(
        update(SignInLink)
        .where(SignInLink.email == email.lower(), *still_good(now))
        .values(ended_at=now)
    )


@dataclass(frozen=True)
class Letter:
    """What the sign-in message says."""

    name: str
    email: str
    url: str
    minutes: int
    partnership: str


def sign_in_message(letter: Letter, settings: Settings, now: datetime) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = parse_address(settings.mail_from, what="sender")
    to = parse_address(letter.email, what="recipient")
    message["To"] = Address(one_line(letter.name), to.username, to.domain)
    message["Subject"] = render_text("email/sign_in/subject.txt", letter=letter).strip()
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.partnership_domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(render_text("email/sign_in/body.txt", letter=letter))
    message.add_alternative(render_html("email/sign_in/body.html", letter=letter), subtype="html")
    return message
