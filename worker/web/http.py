"""HTTP details the feeds and pages share: conditional GETs, security headers, the access log.

Calendar clients poll; answering "not modified" (304) saves them and us the body. The ETag
is the SHA-256 of the body (strong: same bytes, same tag), and Last-Modified comes from the
data (see `worker.feeds.public.Feed`), never later than now. Feeds are never compressed: one Outlook
subscription failure was cured by turning gzip off, so this app has no GZip middleware and
sends `Cache-Control: no-transform` so that proxies leave the body alone too.

Tokens in addresses (agency feeds, digest links) never reach a log: uvicorn's own access log
is off and `AccessLog` writes each request with the token replaced by ***.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.feeds.files import Feed, Stored

log = logging.getLogger("reminders.web.access")

CALENDAR = "text/calendar; charset=utf-8"
# Public feeds may be cached by anyone for a while; the private agency feed by its reader only.
PUBLIC_CACHE = "public, max-age=300, no-transform"
PRIVATE_CACHE = "private, max-age=300, no-transform"
CHUNK = 1 << 18  # bytes of a kept feed read and sent at a time

SECURITY_HEADERS = {
    # A token in the address must not leak to another site through the Referer header, and a
    # page's own form must name its origin: with `no-referrer` a browser posts `Origin: null`.
    # `same-origin` sends a Referer to this site only (the access log never writes it).
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    # The confirmation pages must not be framed (clickjacking the Mark complete button).
    "x-frame-options": "DENY",
    "content-security-policy": (
        # The one stylesheet, from this site; no inline style, no script, no font, no image.
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

# A path segment or query value shaped like a token (agency feed tokens are 43 characters,
# link tokens far longer): long runs of the URL-safe alphabet. Real words in our addresses
# ("acknowledge", "sessions.ics", course codes) are shorter, so nothing else is hidden.
TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9_.~%-]{23,}")
# And whatever follows the secret routes' prefixes, however short or long.
SECRET_PATHS = (
    (re.compile(r"^/feeds/agency/[^/]*"), "/feeds/agency/***.ics"),
    (re.compile(r"^/links/([^/]*)/.*"), r"/links/\1/***"),
)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def not_modified(headers: Headers, etag: str, last_modified: datetime) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison); otherwise
    If-Modified-Since, at the one-second resolution of HTTP dates."""
    if "if-none-match" in headers:
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    since = parse_http_date(headers.get("if-modified-since", ""))
    return since is not None and last_modified.replace(microsecond=0) <= since


def parse_http_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def calendar_response(
    request: Request, feed: Feed | Stored, now: datetime, *, private: bool, filename: str
) -> Response:
    """A feed (just built, or kept as a file and sent from it), or 304 when the client's copy
    is current."""
    changed = min(feed.last_modified, now)
    headers = validators(feed.etag, changed, private)
    if not_modified(request.headers, feed.etag, changed):
        if isinstance(feed, Stored):
            feed.file.close()
        return Response(status_code=304, headers=headers)
    headers["content-disposition"] = f'inline; filename="{filename}"'
    if isinstance(feed, Stored):
        return FileBody(feed, headers)
    return Response(feed.body, media_type=CALENDAR, headers=headers)


def validators(etag: str, changed: datetime, private: bool) -> dict[str, str]:
    return {
        "etag": etag,
        "last-modified": http_date(changed.replace(microsecond=0)),
        "cache-control": PRIVATE_CACHE if private else PUBLIC_CACHE,
    }


def disposition(name: str, kind: Literal["attachment", "inline"] = "attachment") -> str:
    """Content-Disposition naming a file for every browser (RFC 6266): ASCII in `filename`,
    the name itself in `filename*` (RFC 5987), neither able to end the header or add another.
    `attachment` is saved; `inline` is shown in the browser, and saved under the name."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                         for c in name) or "document"  # fmt: skip
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class FileBody(Response):
    """The open file of a kept feed, sent in large pieces read straight from it.

    Starlette's FileResponse opens the file by name (a rebuild could have replaced it since
    its ETag was read) and reads each 64 KB in a worker thread; a kept feed is already open,
    and reading it is copying from the page cache, so it is read here, 256 KB at a time.
    """

    def __init__(self, kept: Stored, headers: dict[str, str]) -> None:
        super().__init__(None, media_type=CALENDAR, headers=headers)
        self.kept = kept
        self.headers["content-length"] = str(kept.size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.kept.file as file:
            start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
            await send(start)
            if scope.get("method") != "HEAD":
                while piece := file.read(CHUNK):
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


def redact(text: str) -> str:
    """`text` (a path or a query) with everything token-shaped shown as ***, whether or not
    the address is one this service answers: a mistyped secret is still a secret."""
    for pattern, replacement in SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return TOKEN_SHAPED.sub("***", text)


class SecurityHeaders:
    """Adds the security headers to every response, pages and feeds alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        raw = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in raw if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """One line per request, like uvicorn's, but with secret path parts shown as ***."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            log.info(
                '%s - "%s %s HTTP/%s" %d %.0f ms',
                client_of(scope),
                scope["method"],
                logged_target(scope),
                scope.get("http_version", "1.1"),
                status or 500,
                (time.perf_counter() - started) * 1000,
            )


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


def logged_target(scope: Scope) -> str:
    path = redact(str(scope["path"]))
    query = redact(bytes(scope.get("query_string", b"")).decode("latin-1"))
    return f"{path}?{query}" if query else path
