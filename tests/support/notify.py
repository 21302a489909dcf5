"""A GOV.UK Notify API server for the tests, on loopback.

It checks each request's token as Notify does (a JWT signed HS256 with the API key's secret,
its issuer the service id, issued within the last 30 seconds), keeps every e-mail
notification it accepts, and answers as a test asks: a queue of statuses (400 for the
address, 403, 429, 500) used one a request, a delay before each answer, or no answer at all
for a while (`hang`). Its `to` and `count` read like the SMTP recorder's, so the
reliability tests measure both the same way.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from werkzeug.wrappers import Request, Response

from tests.support.services import wsgi_server

SILENT, SILENCE = 0, 3.0
SERVICE_ID = str(uuid.UUID(int=0x5AFE6A4D))
SECRET = str(uuid.UUID(int=0xC0FFEE))
API_KEY = f"reminders_test-{SERVICE_ID}-{SECRET}"
# Answers beyond the status codes, each as Notify's documentation lists it (status code,
# error type, message): the first digits are the status code sent.
TEAM_ONLY = 4001  # a 400 that is not about the address: a team-only key
MISSING_FIELD = 4002  # a 400 ValidationError about the template, not the address
DAILY_LIMIT = 4291  # the service's sends for today used up: resets at midnight UTC
ERRORS = {
    400: ("ValidationError", "email_address Not a valid email address"),
    TEAM_ONLY: ("BadRequestError", "Can't send to this recipient using a team-only API key"),
    MISSING_FIELD: ("ValidationError", "Missing personalisation: body"),
    403: ("AuthError", "Invalid token: API key not found"),
    429: ("RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
    DAILY_LIMIT: ("TooManyRequestsError", "Exceeded send limits (250000) for today"),
    500: ("Exception", "Internal server error"),
}  # fmt: skip


@dataclass
class NotifyServer:
    url: str = ""
    notifications: list[dict[str, Any]] = field(default_factory=list)
    # Statuses to give, one a request; SILENT: no answer for SILENCE seconds.
    answers: list[int] = field(default_factory=list)
    refused_tokens: int = 0
    delay: float = 0.0  # seconds before each answer
    hang: bool = False  # no answer (until the client gives up)
    busy: int = 0
    waits_began: list[float] = field(default_factory=list)  # monotonic, a request each
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[dict[str, Any]]:
        with self.lock:
            return [n for n in self.notifications if n["email_address"] == address.lower()]

    def count(self) -> int:
        with self.lock:
            return len(self.notifications)

    def token_ok(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(given, OctKey.import_key(SECRET), algorithms=["HS256"]).claims
        except (JoseError, ValueError):
            return False
        iat = claims.get("iat")
        fresh = isinstance(iat, int) and abs(time.time() - iat) <= 30
        return claims.get("iss") == SERVICE_ID and fresh

    def answer(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v2/notifications/email":
            return reply(404, {"errors": [{"error": "NotFound", "message": "not found"}]})
        if not self.token_ok(request):
            with self.lock:
                self.refused_tokens += 1
            return error(403)
        body = request.get_json()  # the whole request read, as the SMTP relay reads DATA
        self.busy += 1
        self.waits_began.append(time.monotonic())
        try:
            while self.hang:
                time.sleep(0.05)
            time.sleep(self.delay)
        finally:
            self.busy -= 1
        with self.lock:
            status = self.answers.pop(0) if self.answers else 201
        if status == SILENT:
            time.sleep(SILENCE)
            status = 201
        # As the SMTP test relay: a sender gone before the answer, nothing kept. (Notify
        # itself would keep it: the at-least-once window the guides describe.)
        if status == 201 and gone(request):
            return error(500)
        return error(status) if status != 201 else self.accept(body)

    def accept(self, body: dict[str, Any]) -> Response:
        made = {"id": str(uuid.uuid4()), **body, "email_address": body["email_address"].lower()}
        with self.lock:
            self.notifications.append(made)
        return reply(201, {"id": made["id"], "reference": body.get("reference"),
                           "content": {"subject": body["personalisation"]["subject"]},
                           "template": {"id": body["template_id"], "version": 1}})  # fmt: skip

    def __call__(self, environ: dict[str, Any], start: Any) -> Iterable[bytes]:
        response: Iterable[bytes] = self.answer(Request(environ))(environ, start)
        return response


def gone(request: Request) -> bool:
    """The client has hung up (its process was killed while we thought). Read only once the
    request is read whole: before, a byte of its body would answer the peek."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        peeked: bytes = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return peeked == b""


def reply(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def error(status: int) -> Response:
    kind, message = ERRORS[status]
    code = status if status < 1000 else status // 10
    return reply(code, {"status_code": code, "errors": [{"error": kind, "message": message}]})


@contextmanager
def notify_server(port: int = 0) -> Iterator[NotifyServer]:
    server = NotifyServer()
    with wsgi_server(server, port=port) as url:
        server.url = url
        try:
            yield server
        finally:
            server.hang = False  # a request held is let go before the server stops


def notify_env(server: NotifyServer, timeout: float = 5.0) -> dict[str, str]:
    """The settings that send through `server`, as environment variables."""
    return {
        "REMINDERS_NOTIFY__BASE_URL": server.url,
        "REMINDERS_NOTIFY__TEMPLATES__DIGEST": "d1be0a1e-0000-4000-8000-000000000001",
        "REMINDERS_NOTIFY__TEMPLATES__SIGN_IN": "5161e0a1-0000-4000-8000-000000000002",
        "REMINDERS_NOTIFY__TIMEOUT_SECONDS": str(timeout),
        "REMINDERS_NOTIFY_API_KEY": API_KEY,
    }
