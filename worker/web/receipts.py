"""Delivery receipts from GOV.UK Notify.

    POST /notify/receipts   Notify's callback: {"id", "reference", "status", ...} as JSON

Notify sends the bearer token set in its callback settings (REMINDERS_NOTIFY_CALLBACK_TOKEN),
compared here in constant time; without that setting the address does not exist. A receipt
is answered 200 even when it changes nothing (a replay, a reference not ours), so that Notify
does not send it again; one about a digest still being recorded as sent is answered 503, so
that Notify does send it again later. `worker.delivery.afterwards.receipt` decides.
"""

from __future__ import annotations

import json
import logging
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.db import transaction
from worker.delivery.afterwards import receipt
from worker.web.context import web_of

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
FIELDS = ("id", "reference", "status")


async def receive(request: Request) -> Response:
    app = web_of(request).app
    token = app.settings.notify_callback_token
    if token is None:
        return JSONResponse({"error": "not found"}, 404)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
    if not secrets.compare_digest(given, token.get_secret_value().encode()):
        return JSONResponse({"error": "unauthorised"}, 401)
    body = await request.body()
    try:
        fields = json.loads(body) if len(body) <= MAX_BODY else None
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or not all(isinstance(fields.get(f), str) for f in FIELDS):
        return JSONResponse({"error": f"expected JSON with {', '.join(FIELDS)}"}, 400)

    def record() -> str:
        with transaction(app.sessions) as session:
            return receipt(session, fields["reference"], fields["id"], fields["status"],
                           app.now())  # fmt: skip

    did = await run_in_threadpool(record)
    log.info("Notify receipt %s for %s: %s", fields["status"], fields["reference"], did)
    if did == "later":  # the digest is still being recorded as sent: Notify tries again
        return JSONResponse({"result": did}, 503, headers={"retry-after": "60"})
    return JSONResponse({"result": did})
