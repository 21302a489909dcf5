"""Signed links in digests: Acknowledge and Mark complete, one click away from the e-mail.

A link is bound to its recipient (the e-mail address the digest went to), its obligation
and its purpose, carries a random nonce (so that it acts once: `LinkUse` records it) and
expires (`link_valid_days`, 30 by default). It is signed with HMAC-SHA256 (itsdangerous)
using the installation's key:

* `REMINDERS_SIGNING_KEY` from the environment (at least 32 characters), or else
* a random key generated on first use into `signing_key_file` (default `var/signing-key`,
  mode 0600). That suits the embedded default, where the worker that plans the digests and
  the web server that checks the links share one machine. Where they do not (containers,
  several hosts), set `REMINDERS_SIGNING_KEY`: docker-compose.yml insists on it.

A token is what itsdangerous's URLSafeSerializer writes (base64url, `.` before the signature,
the JSON payload zlib-compressed and `.`-prefixed when that is shorter) with a `~` before
every 20 characters: `~eyJwIjoiYWNrbm93bGVk~Z2UiLCJrIjoi…`. So no word in a link is longer
than 20 characters, and none is a bitcoin address to SpamAssassin, whose rule PDS_BTC_ID took
a word of the serializer's output now and then (1 or 3, then 29 to 34 more base58
characters) for one and scored the digest for it. `~` is unreserved in URLs (RFC 3986).
A token without the leading `~` is the serializer's output as it is: the links sent before
this format, which work until they expire.

Verification takes `now` from the caller, so expiry is tested without touching a clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from worker.mail.digest import Briefing, Digest, Item
from worker.obligations import calendar_path
from worker.settings import Settings

log = logging.getLogger(__name__)

ACKNOWLEDGE, COMPLETE = "acknowledge", "complete"
PURPOSES = (ACKNOWLEDGE, COMPLETE)
# Links in `reminders preview` output carry a purpose of their own: they lead to a page that
# says they come from a preview, and never act, whoever the preview reaches.
PREVIEW = "preview-"
MIN_KEY_LENGTH = 32
SALT = "reminders.digest-link"
FORM_SALT = "reminders.digest-link.form"
# Before every SPAN characters of the serializer's output, which never holds SPACER (an
# earlier token begins `ey`, or `.` when compressed): no word of a token is longer than SPAN,
# where a bitcoin address to SpamAssassin is a word of 26 characters or more (30 in 4.0).
SPACER, SPAN = "~", 20
TAMPERED = (
    "The link has been changed or cut short, or was made by another installation. "
    "Copy the whole link from the e-mail, or use the link in your latest digest."
)


class SigningKeyError(Exception):
    """No usable key to sign links with."""


class LinkError(Exception):
    """A link that must not act: the page to show and its HTTP status."""

    status = 400
    title = "This link is not valid"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TamperedLinkError(LinkError):
    pass


class ExpiredLinkError(LinkError):
    status = 410
    title = "This link has expired"


class WrongPurposeError(LinkError):
    title = "This link is for something else"


class PreviewLinkError(LinkError):
    status = 403
    title = "This link is from a preview"


@dataclass(frozen=True)
class Grant:
    """What a verified link allows: `purpose` on obligation `key`, by `recipient`, once."""

    purpose: str
    key: str
    recipient: str
    nonce: str
    expires: datetime


def signing_key(settings: Settings) -> bytes:
    """The key from the environment, or this installation's generated key file."""
    if settings.signing_key is not None:
        value = settings.signing_key.get_secret_value()
        if len(value) < MIN_KEY_LENGTH:
            raise SigningKeyError(
                f"REMINDERS_SIGNING_KEY must be at least {MIN_KEY_LENGTH} characters: "
                "make one with  python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value.encode()
    return key_file(settings.signing_key_file)


def key_file(path: Path) -> bytes:
    """Read the key in `path`, creating it (0600, atomically) if it does not exist yet."""
    try:
        if not path.exists():
            make_key_file(path)
        return read_key(path)
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read or create the link-signing key file {path}: {exc.strerror}; "
            "set REMINDERS_SIGNING_KEY instead"
        ) from exc


def make_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600; the link below only succeeds if nobody beat us to it,
    # and never shows a half-written key to a process starting at the same moment.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key.")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise SigningKeyError(f"{path}: the key in this file is too short; delete it to renew")
    return key.encode()


@dataclass(frozen=True)
class Links:
    """Makes and checks the signed links of one installation."""

    key: bytes
    base_url: str
    valid_for: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        return cls(
            signing_key(settings),
            settings.public_base_url.rstrip("/"),
            timedelta(days=settings.link_valid_days),
        )

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(
            self.key, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def token(self, purpose: str, key: str, recipient: str, now: datetime) -> str:
        expires = int((now + self.valid_for).timestamp())
        nonce = secrets.token_urlsafe(12)
        payload = {"p": purpose, "k": key, "r": recipient.lower(), "n": nonce, "e": expires}
        signed: str = self._serializer().dumps(payload)
        return spaced(signed)

    def url(
        self, purpose: str, key: str, recipient: str, now: datetime, preview: bool = False
    ) -> str:
        signed = f"{PREVIEW}{purpose}" if preview else purpose
        return f"{self.base_url}/links/{purpose}/{self.token(signed, key, recipient, now)}"

    def verify(self, token: str, purpose: str, now: datetime) -> Grant:
        """The grant in `token` for `purpose`; LinkError if forged, expired or for another use."""
        try:
            payload: Any = self._serializer().loads(unspaced(token))
        except BadSignature as exc:
            raise TamperedLinkError(TAMPERED) from exc
        grant = parse_grant(payload)
        if grant.purpose.startswith(PREVIEW):
            raise PreviewLinkError(
                "This link was made for a preview of a digest, to show what the digest will "
                "look like. It never records anything. Use the links in a digest you received."
            )
        if grant.purpose != purpose:
            raise WrongPurposeError(
                f"This is a link to {grant.purpose} an item, not to {purpose} it. "
                "Use the matching link in your digest."
            )
        if now >= grant.expires:
            raise ExpiredLinkError(
                f"The link stopped working on {grant.expires:%d %B %Y}. "
                "Use the links in your latest digest."
            )
        return grant

    def form_token(self, grant: Grant) -> str:
        """The token only the confirmation page carries, bound to the link's nonce: a POST
        without it did not come from that page, whatever else it holds."""
        return hmac.new(self.key, f"{FORM_SALT}:{grant.nonce}".encode(), "sha256").hexdigest()

    def form_token_matches(self, grant: Grant, presented: str) -> bool:
        # As bytes: compare_digest refuses a str with non-ASCII characters in it.
        return hmac.compare_digest(self.form_token(grant).encode(), presented.encode())

    def decorate(self, digest: Digest, now: datetime, preview: bool = False) -> Digest:
        """The digest with Acknowledge and Mark complete links on each open item (preview
        links, which never act, when `preview`), the address of its console page and of
        each of its sessions' calendars."""
        items = tuple(self.item_links(i, digest.email, now, preview) for i in digest.items)
        return replace(digest, items=items)

    def item_links(self, item: Item, recipient: str, now: datetime, preview: bool) -> Item:
        return replace(
            item,
            acknowledge_url=self.url(ACKNOWLEDGE, item.key, recipient, now, preview),
            complete_url=self.url(COMPLETE, item.key, recipient, now, preview),
            console_url=console_url(self.base_url, item.key),
            sessions=tuple(self.with_calendar(s) for s in item.sessions),
        )

    def with_calendar(self, session: Briefing) -> Briefing:
        """A session with its one-session calendar, unless it is cancelled."""
        url = "" if session.cancelled else f"{self.base_url}{calendar_path(session.reference)}"
        return replace(session, calendar_url=url)


def spaced(signed: str) -> str:
    """The token for the serializer's output `signed`: SPACER before every SPAN characters."""
    return "".join(SPACER + signed[at : at + SPAN] for at in range(0, len(signed), SPAN))


def unspaced(token: str) -> str:
    """The serializer's output in `token`: a token of the earlier format (no SPACER first) as it
    is; TamperedLinkError if the spacers are not where `spaced` puts them."""
    if not token.startswith(SPACER):
        return token
    signed = token.replace(SPACER, "")
    if spaced(signed) != token:
        raise TamperedLinkError(TAMPERED)
    return signed


def console_url(base_url: str, key: str) -> str:
    """The console page of the obligation `key`: no secret in it, the console asks who you
    are and shows the item only to those who may see it."""
    return f"{base_url}/console/items/key/{quote(key, safe='')}"


def parse_grant(payload: Any) -> Grant:
    """A signed payload that is not one of ours (another salt's shape) is refused all the same."""
    try:
        purpose, key, recipient = str(payload["p"]), str(payload["k"]), str(payload["r"])
        nonce, expires = str(payload["n"]), datetime.fromtimestamp(int(payload["e"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise TamperedLinkError("The link is not one this service made.") from exc
    if purpose.removeprefix(PREVIEW) not in PURPOSES:
        raise TamperedLinkError("The link is not one this service made.")
    return Grant(purpose, key, recipient, nonce, expires)


def digest_links(
    settings: Settings, now: datetime, preview: bool = False
) -> Callable[[Digest], Digest] | None:
    """What planning applies to each digest: links signed now, valid for `link_valid_days`.

    None when there is no key to sign with: the digests still go out, without links (a
    reminder without a button beats no reminder), and the problem is logged each time.
    """
    try:
        links = Links.from_settings(settings)
    except SigningKeyError as exc:
        log.error("digests planned without Acknowledge / Mark complete links: %s", exc)
        return None
    return lambda digest: links.decorate(digest, now, preview)
