"""Acknowledge and Mark complete, from the signed links in a digest.

GET shows what the link would do and a form; it changes nothing, because mail scanners and
link previews fetch every address in a message. Only the POST from that form acts:

* the signed token in the address is checked first, before a byte of the form is read, and
  a body over 32 KB is refused;
* a cross-site POST is refused (`Sec-Fetch-Site`, else `Origin`), and the form must carry the
  form token that only the confirmation page holds, bound to the link's nonce, so a bare
  POST of the address does nothing;
* the link acts only while its recipient is still told about the item under the directory
  and rules in force (checked on GET and on POST): someone removed from the directory, or
  no longer on the item's ladder, keeps a link that no longer works.

Then the event is recorded with `worker.obligations.record_event` — by the recipient the link
was made for, on today's date — and the link's nonce, the client's address and user agent
in `link_uses`, in one transaction. The nonce is unique: a second use, even at the same
instant, finds it and is refused with a clear page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker import obligations
from worker.db import transaction
from worker.mail.links import ACKNOWLEDGE, Grant, LinkError, SigningKeyError
from worker.models import LinkUse, Obligation
from worker.obligations import (
    Assessment,
    Assessor,
    EventRefusedError,
    completed,
    record_event,
    stream,
)
from worker.signin.sessions import Client
from worker.web.context import Web, page, problem, web_of
from worker.yaml_files import ConfigError

NOTE_LIMIT = 2000
BODY_LIMIT = 32 * 1024
VERBS = {ACKNOWLEDGE: "Acknowledge", "complete": "Mark complete"}
EVENTS = {ACKNOWLEDGE: "acknowledged", "complete": "completed"}
Endpoint = Callable[[Request], Awaitable[Response]]


class RefusedError(Exception):
    """The link may not act now; `response` is the page that says why."""

    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__(response.status_code)


@dataclass(frozen=True)
class Target:
    """The item a verified link points at, as the reader should see it before confirming."""

    grant: Grant
    found: Assessment


def confirm(purpose: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        web, token = web_of(request), request.path_params["token"]
        return await run_in_threadpool(confirmation, web, purpose, token)

    return endpoint


def act(purpose: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        web, token = web_of(request), request.path_params["token"]
        try:
            verified(web, purpose, token)  # before a byte of the form is read
            same_site(request, web.app.settings.public_base_url)
            fields = await small_form(request)
        except RefusedError as refused:
            return refused.response
        return await run_in_threadpool(perform, web, purpose, token, fields, client_of(request))

    return endpoint


def client_of(request: Request) -> Client:
    agent = request.headers.get("user-agent")
    address = request.client.host if request.client else None
    return Client(address, agent[:500] if agent else None)


def confirmation(web: Web, purpose: str, token: str, note: str = "", error: str = "") -> Response:
    try:
        grant = verified(web, purpose, token)
        with web.app.sessions() as session:
            target = locate(web, session, grant)
    except RefusedError as refused:
        return refused.response
    return page(
        "confirm.html",
        422 if error else 200,
        target=target,
        verb=VERBS[purpose],
        purpose=purpose,
        note=note,
        error=error,
        note_limit=NOTE_LIMIT,
        form_token=web.links.form_token(grant),
    )


def perform(web: Web, purpose: str, token: str, fields: dict[str, str], client: Client) -> Response:
    note = fields.get("note", "").strip()
    try:
        grant = verified(web, purpose, token)
        if not web.links.form_token_matches(grant, fields.get("form_token", "")):
            raise RefusedError(not_from_the_page())
    except RefusedError as refused:
        return refused.response
    if purpose == ACKNOWLEDGE and not note:
        return confirmation(web, purpose, token, note, "Please write a short progress note.")
    if len(note) > NOTE_LIMIT:
        too_long = f"Please keep the note under {NOTE_LIMIT} characters."
        return confirmation(web, purpose, token, note, too_long)
    try:
        with transaction(web.app.sessions) as session:
            obligations.take_turn(session)
            target = locate(web, session, grant)
            record(web, session, target, note, client)
            obligations.record(session, web.app.rules(), web.app.today())  # as it stands now
            after = locate(web, session, grant, allow_used=True, allow_resolved=True)
    except RefusedError as refused:
        return refused.response
    except IntegrityError:  # the same link used at the same moment in another request
        return used_page()
    return page("done.html", target=after, verb=VERBS[purpose], purpose=purpose, note=note)


def verified(web: Web, purpose: str, token: str) -> Grant:
    try:
        return web.links.verify(token, purpose, web.app.now())
    except LinkError as exc:
        raise RefusedError(problem(exc.status, exc.title, exc.message)) from exc
    except SigningKeyError as exc:
        raise RefusedError(unavailable()) from exc


def locate(
    web: Web,
    session: Session,
    grant: Grant,
    *,
    allow_used: bool = False,
    allow_resolved: bool = False,
) -> Target:
    """The link's item as it stands today; RefusedError when the link may not act on it."""
    if not allow_used and session.scalar(select(LinkUse).where(LinkUse.nonce == grant.nonce)):
        raise RefusedError(used_page())
    mine = [Obligation.key == grant.key]
    row = next(stream(session, include_resolved=True, where=mine), None)
    if row is None:
        gone = "The item this link was for is no longer on record."
        raise RefusedError(problem(404, "Item not found", gone))
    found = assessed(web, session, row)
    if grant.recipient not in {r.email.lower() for r in found.recipients}:
        raise RefusedError(no_longer_yours())
    if (found.decision.resolved or completed(row)) and not allow_resolved:
        raise RefusedError(already_complete())
    return Target(grant, found)


def assessed(web: Web, session: Session, row: Obligation) -> Assessment:
    try:
        rules = web.app.rules()
    except ConfigError as exc:
        raise RefusedError(unavailable()) from exc
    return Assessor.build(session, rules, web.app.today()).assess(row)


def record(web: Web, session: Session, target: Target, note: str, client: Client) -> None:
    grant, row = target.grant, target.found.row
    text = note or "marked complete from the digest link"
    try:
        event = record_event(row, EVENTS[grant.purpose], web.app.today(), grant.recipient, text)
    except EventRefusedError as exc:
        raise RefusedError(already_complete()) from exc
    session.flush()
    session.add(
        LinkUse(
            nonce=grant.nonce,
            purpose=grant.purpose,
            obligation_key=grant.key,
            recipient=grant.recipient,
            event_id=event.id,
            used_at=web.app.now(),
            client=client.address,
            user_agent=client.user_agent,
        )
    )
    session.flush()


def same_site(request: Request, public_base_url: str) -> None:
    """Refuse a POST another site made a browser send, by what the browser says of it.

    `Sec-Fetch-Site` decides where a browser sends it (every current one does): only
    `same-origin` (this page's own button) or `none` (typed, bookmarked) may act. A browser
    without it names the origin instead, and another site's is refused; `Origin: null` (an
    older browser honouring a no-referrer policy) is left to the page's form token, bound to
    the link's nonce, which no other site can hold.
    """
    fetched_from = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin", "").strip().lower()
    ours = {origin_of(public_base_url), origin_of(str(request.base_url)), "null", ""}
    if fetched_from is not None:
        elsewhere = fetched_from.strip().lower() not in ("same-origin", "none")
    else:
        elsewhere = origin not in ours
    if elsewhere:
        raise RefusedError(
            problem(
                403,
                "This request came from another site",
                "Acknowledge and Mark complete work only from the page their link opens.",
                "Open the link from your digest again and use the button on that page.",
            )
        )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def small_form(request: Request) -> dict[str, str]:
    """The URL-encoded form of a confirmation page, refused unread past `BODY_LIMIT`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise RefusedError(not_from_the_page())
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > BODY_LIMIT:
        raise RefusedError(too_large())
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            raise RefusedError(too_large())
    try:
        pairs = parse_qsl(body.decode("utf-8"), max_num_fields=5, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RefusedError(not_from_the_page()) from exc
    return dict(pairs)


def already_complete() -> Response:
    return problem(
        409,
        "Already complete",
        "This item has already been marked complete.",
        "Nothing more is needed: it will not be escalated again.",
    )


def not_from_the_page() -> Response:
    return problem(
        403,
        "Please use the page this link opens",
        "This request did not come from the confirmation page of the link.",
        "Open the link from your digest again and use the button on that page.",
    )


def too_large() -> Response:
    return problem(413, "Too much text", f"A note can be at most {NOTE_LIMIT} characters.")


def no_longer_yours() -> Response:
    return problem(
        403,
        "This link no longer applies to you",
        "You are no longer told about this item, so its links from your earlier digests "
        "have stopped working.",
        "If you think this is wrong, contact the partnership's business manager.",
    )


def used_page() -> Response:
    return problem(
        409,
        "This link has already been used",
        "Each link in a digest works once, and this one has done its job.",
        "Your next digest will carry fresh links if anything is still needed.",
    )


def unavailable() -> Response:
    return problem(
        503,
        "Links are not available just now",
        "This service cannot check links at the moment (its configuration cannot be read).",
        "Please try again later, or contact the partnership's business manager.",
    )
