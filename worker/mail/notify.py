"""GOV.UK Notify as the mail transport, through Notify's own client (notifications-python-
client, which signs each request with a JWT made from the API key).

A message is sent as Notify's e-mail template for its kind (a digest carries List-Id; the
sign-in link does not), its subject and plain-text body as the personalisation `subject`
and `body`, and its Message-ID, without the angle brackets, as Notify's `reference`: the
ledger keeps that Message-ID, so a delivery receipt finds its digest.

Notify's refusals are sorted by their status code and error type, as its documentation says:
a 400 `ValidationError` of the `email_address` field is a refusal of the recipient; a 429
`TooManyRequestsError` is the service's daily limit, waited out until midnight UTC without
counting as an attempt; any other 400 (a team-only key, a template missing a field), 403,
429 (`RateLimitError`), 5xx, time-outs and lost connections are worth trying again, up to the
ledger's attempt limit (settings that are wrong must not lose digests while someone mends
them). Requests keep within `notify.rate` a minute for the service's keys of one type
(`notify.key_type`), counted in Redis when the broker is Redis so every worker shares it.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any, Literal

from limits import parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from notifications_python_client.errors import APIError, HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from worker.mail.transport import (
    DailyLimitError,
    PermanentError,
    RecipientRefusedError,
    TransientError,
)
from worker.settings import Notify, Settings

# A digest's receipt once its recipient has reported it as spam (Notify's complaint callback).
COMPLAINT = "complaint"
WAIT_FOR_ROOM = 30.0  # seconds a send waits for the rate to allow it, before trying later


class NotifyTransport:
    def __init__(self, config: Notify, api_key: str, storage: Storage) -> None:
        self.config = config
        self.client = NotificationsAPIClient(api_key, base_url=config.base_url,
                                             timeout=config.timeout_seconds)  # fmt: skip
        self.limiter, self.rate = MovingWindowRateLimiter(storage), parse(config.rate)
        # Notify counts a service's requests per type of key: so does this, for every key
        # of that type (the service id is part of each key; the client reads it out).
        self.key = f"{self.client.service_id}:{config.key_type}"

    @classmethod
    def of(cls, settings: Settings) -> NotifyTransport:
        if settings.notify is None or settings.notify_api_key is None:
            raise PermanentError("Notify needs a notify section and REMINDERS_NOTIFY_API_KEY")
        broker = settings.broker_url
        redis = broker.startswith(("redis://", "rediss://"))
        storage = RedisStorage(broker) if redis else MemoryStorage()
        return cls(settings.notify, settings.notify_api_key.get_secret_value(), storage)

    def send(self, message: EmailMessage) -> str | None:
        """Notify's id for the notification it made of `message`."""
        self.wait_for_room()
        to = message["To"].addresses[0].addr_spec
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        try:
            answer = self.client.send_email_notification(
                email_address=to,
                template_id=self.config.templates[kind_of(message)],
                personalisation={"subject": str(message["Subject"]), "body": text},
                reference=str(message["Message-ID"]).strip().strip("<>"),
            )
        except APIError as exc:
            raise sorted_error(exc) from exc
        return str(answer.get("id")) if isinstance(answer, dict) else None

    def wait_for_room(self) -> None:
        deadline = time.monotonic() + WAIT_FOR_ROOM
        while not self.limiter.hit(self.rate, "notify", self.key):
            if time.monotonic() > deadline:
                raise TransientError(f"Notify's rate of {self.config.rate} is used up")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.request_session.close()


def kind_of(message: EmailMessage) -> Literal["digest", "sign_in"]:
    return "digest" if message["List-Id"] else "sign_in"


def sorted_error(exc: APIError) -> Exception:
    """Notify's refusal as a transport failure of the right kind, by its status code and
    the error types it lists."""
    code, errors = exc.status_code, errors_of(exc)
    said = f"Notify {code}: " + "; ".join(f"{kind}: {text}" for kind, text in errors)
    if exc.__cause__ is not None:  # no answer: the client's own error says why
        said += f" ({type(exc.__cause__).__name__})"
    kinds = {kind for kind, _ in errors}
    if code == 429 and "TooManyRequestsError" in kinds:
        return DailyLimitError(said)
    if code == 400 and any(kind == "ValidationError" and field_of(text) == "email_address"
                           for kind, text in errors):  # fmt: skip
        return RecipientRefusedError(said)
    if isinstance(exc, HTTPError) or code in (400, 403, 429) or code >= 500:
        return TransientError(said)
    return PermanentError(said)


def errors_of(exc: APIError) -> list[tuple[str, str]]:
    """(error type, message) of each error Notify listed; its text alone when it listed none."""
    found: Any = exc.message
    if isinstance(found, list):
        listed = [(str(e.get("error", "")), str(e.get("message", ""))) for e in found
                  if isinstance(e, dict)]  # fmt: skip
        if listed:
            return listed
    return [("", str(found))]


def field_of(message: str) -> str:
    """The field a Notify ValidationError is about: its message begins with the field's
    name ("email_address Not a valid email address")."""
    return message.split(" ", 1)[0]
