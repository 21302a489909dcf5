"""Acknowledge and Mark complete, from the signed links in a digest.

GET shows what the link would do and a form; it changes nothing, because mail scanners and
link previews fetch every address in a message. Only the POST from that form acts. The form
posts back to the same address, so the POST carries the same signed token, which is all the
authority there is: no cookie or session is involved, so another site cannot make a browser
act (no CSRF), and the pages refuse to be framed.

The POST checks everything again (signature, purpose, expiry, the item), then records the
event with `worker.obligations.add_event` — by the recipient the link was made for, on
today's date — and the link's nonce in `link_uses`, in one transaction. The nonce is unique:
a second use, even at the same instant, finds it and is refused with a clear page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.db import transaction
from worker.links import ACKNOWLEDGE, Grant, LinkError, SigningKeyError
from worker.models import LinkUse, Obligation
from worker.obligations import add_event, completed
from worker.recipients import Partnership
from worker.rules import RulesError
from worker.settings import ConfigError
from worker.sweep import Assessment, assess_one, calendar_for, obligations
from worker.web.context import Web, page, problem, web_of

NOTE_LIMIT = 2000
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
        async with request.form(max_files=0, max_fields=5, max_part_size=16_384) as form:
            note = str(form.get("note") or "").strip()
        return await run_in_threadpool(perform, web, purpose, token, note)

    return endpoint


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
    )


def perform(web: Web, purpose: str, token: str, note: str) -> Response:
    if purpose == ACKNOWLEDGE and not note:
        return confirmation(web, purpose, token, note, "Please write a short progress note.")
    if len(note) > NOTE_LIMIT:
        too_long = f"Please keep the note under {NOTE_LIMIT} characters."
        return confirmation(web, purpose, token, note, too_long)
    try:
        grant = verified(web, purpose, token)
        with transaction(web.app.sessions) as session:
            target = locate(web, session, grant)
            record(web, session, target, note)
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
    row = next(obligations(session, include_resolved=True, key=grant.key), None)
    if row is None:
        gone = "The item this link was for is no longer on record."
        raise RefusedError(problem(404, "Item not found", gone))
    found = assessed(web, session, row)
    if (found.decision.resolved or completed(row)) and not allow_resolved:
        raise RefusedError(
            problem(
                409,
                "Already complete",
                "This item has already been marked complete.",
                "Nothing more is needed: it will not be escalated again.",
            )
        )
    return Target(grant, found)


def assessed(web: Web, session: Session, row: Obligation) -> Assessment:
    try:
        rules = web.app.rules()
    except (RulesError, ConfigError) as exc:
        raise RefusedError(unavailable()) from exc
    return assess_one(row, rules, calendar_for(rules), web.app.today(), Partnership.load(session))


def record(web: Web, session: Session, target: Target, note: str) -> None:
    grant, row = target.grant, target.found.row
    text = note or "marked complete from the digest link"
    event = add_event(row, web.app.today(), EVENTS[grant.purpose], text, by=grant.recipient)
    session.flush()
    session.add(
        LinkUse(
            nonce=grant.nonce,
            purpose=grant.purpose,
            obligation_key=grant.key,
            recipient=grant.recipient,
            event_id=event.id,
            used_at=web.app.now(),
        )
    )
    session.flush()


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
