"""Delivery receipts from GOV.UK Notify.

    POST /notify/receipts   Notify's callbacks as JSON: a delivery receipt {"id",
                            "reference", "status", ...}, or a complaint {"notification_id",
                            "complaint_id", "reference", "to", "complaint_date"}

Notify sends the bearer token set in its callback settings (REMINDERS_NOTIFY_CALLBACK_TOKEN)
as `Authorization: Bearer <token>`; the scheme is matched without regard to case (RFC 7235)
and required, the token compared in constant time. Without that setting the address does not
exist. Wrong tokens are counted per client address (`rate_limit`); past it, 429.

The body is read within a budget before anything else: refused from its Content-Length, or
as soon as it streams past 16 KB, then parsed by `json_budget` (nesting, lone surrogates).
A receipt is answered 200 even when it changes nothing (a replay, a reference that is null
or not ours), so that Notify does not send it again; one about a digest still being recorded
as sent is answered 503, so that Notify does send it again later.
`worker.delivery.afterwards.receipt` decides.
"""

from __future__ import annotations

import logging
import secrets

from limits import parse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.db import transaction
from worker.delivery.afterwards import complaint, receipt
from worker.importers import json_budget
from worker.web.context import web_of

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
FIELDS = ("id", "status")  # strings; "reference" is a string or null
UNAUTHORISED = {"www-authenticate": 'Bearer realm="notify-receipts"'}


async def receive(request: Request) -> Response:
    web = web_of(request)
    token = web.app.settings.notify_callback_token
    if token is None:
        return JSONResponse({"error": "not found"}, 404)
    wrong = parse(web.app.settings.rate_limit)
    client = "receipts:" + (request.client.host if request.client else "-")
    if not web.limiter.test(wrong, client):
        return JSONResponse({"error": "too many wrong tokens"}, 429, {"retry-after": "60"})
    if not bearer_is(request.headers.get("authorization", ""), token.get_secret_value()):
        web.limiter.hit(wrong, client)
        return JSONResponse({"error": "unauthorised"}, 401, UNAUTHORISED)
    body = await bounded_body(request)
    if body is None:
        return JSONResponse({"error": f"a receipt is at most {MAX_BODY:,} bytes"}, 413)
    try:
        fields = json_budget.loads(body, max_bytes=MAX_BODY, max_depth=8)
    except json_budget.JSONRefusedError as exc:
        return JSONResponse({"error": f"the body {exc}"}, 400)
    if is_complaint(fields):
        return await complained(request, fields)
    if not is_receipt(fields):
        return JSONResponse({"error": "expected JSON with id, reference and status"}, 400)
    return await recorded(request, fields)


def bearer_is(header: str, token: str) -> bool:
    """Whether `header` is `Bearer <token>`: the scheme in any case, the token exactly."""
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(given.strip().encode(), token.encode())


async def bounded_body(request: Request) -> bytes | None:
    """The request's body, or None once it is known to be longer than MAX_BODY: from its
    Content-Length, else while it streams (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


def is_receipt(fields: object) -> bool:
    return (
        isinstance(fields, dict)
        and all(isinstance(fields.get(f), str) for f in FIELDS)
        and isinstance(fields.get("reference"), str | None)
    )


def is_complaint(fields: object) -> bool:
    return (
        isinstance(fields, dict)
        and all(isinstance(fields.get(f), str) for f in ("notification_id", "complaint_id"))
        and isinstance(fields.get("reference"), str | None)
    )


async def complained(request: Request, fields: dict[str, str | None]) -> Response:
    app = web_of(request).app
    reference, provider_id = fields["reference"], str(fields["notification_id"])
    if reference is None:
        return JSONResponse({"result": "nothing"})

    def record() -> str:
        with transaction(app.sessions) as session:
            return complaint(session, reference, provider_id)

    did = await run_in_threadpool(record)
    log.info("Notify complaint for %s: %s", reference, did)
    return JSONResponse({"result": did})


async def recorded(request: Request, fields: dict[str, str | None]) -> Response:
    app = web_of(request).app
    reference, provider_id, status = fields["reference"], str(fields["id"]), str(fields["status"])
    if reference is None:  # a notification not sent by this service, or sent without one
        log.info("Notify receipt %s without a reference: ignored", status)
        return JSONResponse({"result": "nothing"})

    def record() -> str:
        with transaction(app.sessions) as session:
            return receipt(session, reference, provider_id, status, app.now())

    did = await run_in_threadpool(record)
    log.info("Notify receipt %s for %s: %s", status, reference, did)
    if did == "later":  # the digest is still being recorded as sent: Notify tries again
        return JSONResponse({"result": did}, 503, headers={"retry-after": "60"})
    return JSONResponse({"result": did})
