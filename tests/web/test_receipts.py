"""The Notify receipts endpoint at its door: the body read within 16 KB (from Content-Length,
or while it streams), JSON within its budget, the Authorization scheme as RFC 7235 has it,
wrong tokens braked, a receipt with a null reference answered 200 (Notify never retries a
4xx, so a refusal would lose it). Driven through the ASGI interface, counting what the
endpoint pulls of the body."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette
from starlette.types import Message

from worker.app import App
from worker.web import create_app

TOKEN = "a-callback-token-set-in-notify-0123456789"


@pytest.fixture
def door(app: App) -> Starlette:
    """The web application: one for the test, so that its rate limit counts across posts."""
    return create_app(app)


@pytest.fixture(autouse=True)
def callback_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_NOTIFY_CALLBACK_TOKEN", TOKEN)
    monkeypatch.setenv("REMINDERS_RATE_LIMIT", "5/minute")


class Post:
    """One POST to /notify/receipts: its body given in `chunks`, counting those pulled."""

    def __init__(self, chunks: list[bytes], headers: dict[str, str]) -> None:
        self.chunks, self.pulled = chunks, 0
        self.headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def receive(self) -> Message:
        self.pulled += 1
        if self.pulled > len(self.chunks):
            return {"type": "http.disconnect"}
        more = self.pulled < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.pulled - 1], "more_body": more}

    def answered(self, door: Starlette) -> tuple[int, dict[str, str]]:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/notify/receipts",
                 "raw_path": b"/notify/receipts", "query_string": b"", "headers": self.headers,
                 "client": ("192.0.2.7", 40000), "server": ("127.0.0.1", 80),
                 "scheme": "http", "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}}  # fmt: skip
        # In a thread of its own: a browser test before it in this process may have left
        # Playwright's event loop running in this one.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, door(scope, self.receive, send)).result()
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], json.loads(body)


def post(door: Starlette, body: bytes | list[bytes], auth: str = f"Bearer {TOKEN}",
         length: int | None = None) -> tuple[int, dict[str, str], Post]:  # fmt: skip
    chunks = body if isinstance(body, list) else [body]
    headers = {"host": "localhost", "content-type": "application/json", "authorization": auth}
    if length is not None:
        headers["content-length"] = str(length)
    request = Post(chunks, headers)
    status, said = request.answered(door)
    return status, said, request


RECEIPT = {"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "reference": None,
           "to": "someone@example.org", "status": "delivered", "notification_type": "email"}  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_body_longer_than_16_kb_is_refused_before_it_is_read(door: Starlette) -> None:
    status, said, request = post(door, [b"{" + b" " * 8192] * 25_000, length=200 << 20)
    assert (status, request.pulled) == (413, 0)  # from Content-Length: nothing read
    assert "16,384 bytes" in said["error"]
    status, _, request = post(door, [b" " * 8192] * 25_000)  # streamed, no length given
    assert (status, request.pulled) == (413, 3)  # stopped just past 16 KB, of 200 MB


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deep_or_broken_json_is_a_400_that_says_why(door: Starlette) -> None:
    status, said, _ = post(door, b"[" * 5000 + b"]" * 5000)
    assert (status, said["error"]) == (400, "the body is nested 5000 deep; the limit is 8")
    status, said, _ = post(door, json.dumps({**RECEIPT, "reference": "\ud800"}).encode())
    assert status == 400
    assert "lone surrogate" in said["error"]
    status, said, _ = post(door, json.dumps({"id": 1, "status": "delivered"}).encode())
    assert status == 400


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_receipt_with_a_null_reference_is_answered_200(door: Starlette) -> None:
    status, said, _ = post(door, json.dumps(RECEIPT).encode())
    assert (status, said) == (200, {"result": "nothing"})
    status, said, _ = post(door, json.dumps({**RECEIPT, "reference": "not-ours@x"}).encode())
    assert (status, said) == (200, {"result": "nothing"})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_bearer_scheme_is_required_and_matched_in_any_case(door: Starlette) -> None:
    body = json.dumps(RECEIPT).encode()
    assert post(door, body, auth=f"bearer {TOKEN}")[0] == 200
    assert post(door, body, auth=f"BEARER  {TOKEN} ")[0] == 200
    assert post(door, body, auth=TOKEN)[0] == 401  # a bare token: no scheme
    assert post(door, body, auth=f"Basic {TOKEN}")[0] == 401
    assert post(door, body, auth=f"Bearer {TOKEN}x")[0] == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wrong_tokens_are_braked_per_client(door: Starlette) -> None:
    body = json.dumps(RECEIPT).encode()
    wrong = [post(door, body, auth="Bearer guess")[0] for _ in range(7)]
    assert wrong == [401] * 5 + [429] * 2
    assert post(door, body)[0] == 429  # the same client, braked until the window moves on
