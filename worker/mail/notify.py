"""GOV.UK Notify as the mail transport, through Notify's own client (notifications-python-
client, which signs each request with a JWT made from the API key).

A message is sent as Notify's e-mail template for its kind (a digest carries List-Id; the
sign-in link does not), its subject and plain-text body as the personalisation `subject`
and `body`, and its Message-ID, without the angle brackets, as Notify's `reference`: the
ledger keeps that Message-ID, so a delivery receipt finds its digest. Notify's answers are
sorted as a relay's replies are: a 400 about the address is a refusal of the recipient; any
other 400 (a team-only key, a template missing a field), 403, 429, 5xx, time-outs and lost
connections are worth trying again, up to the ledger's attempt limit (settings that are
wrong must not lose digests while someone mends them). Requests keep within
`notify.rate` a minute, counted in Redis when the broker is Redis so every worker shares it.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Literal

from limits import parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from notifications_python_client.errors import APIError, HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from worker.mail.transport import PermanentError, RecipientRefusedError, TransientError
from worker.settings import Notify, Settings
from worker.tokens import hash_token

WAIT_FOR_ROOM = 30.0  # seconds a send waits for the rate to allow it, before trying later


class NotifyTransport:
    def __init__(self, config: Notify, api_key: str, storage: Storage) -> None:
        self.config = config
        self.client = NotificationsAPIClient(api_key, base_url=config.base_url,
                                             timeout=config.timeout_seconds)  # fmt: skip
        self.limiter, self.rate = MovingWindowRateLimiter(storage), parse(config.rate)
        self.key = hash_token(api_key)[:16]  # each key's requests counted apart

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
    """Notify's refusal as a transport failure of the right kind."""
    said = f"Notify {exc.status_code}: {exc.message}"
    if exc.__cause__ is not None:  # no answer: the client's own error says why
        said += f" ({type(exc.__cause__).__name__})"
    if exc.status_code == 400 and "email_address" in str(exc.message):
        return RecipientRefusedError(said)
    if isinstance(exc, HTTPError) or exc.status_code in (400, 403, 429) or exc.status_code >= 500:
        return TransientError(said)
    return PermanentError(said)
