"""Getting a built message to people: an SMTP relay, or the outbox folder of .eml files.

Failures are sorted into two kinds, because they call for opposite actions: a
`TransientError` (a 4xx reply, a dropped or refused connection, a full disk) is retried later;
a `PermanentError` (a 5xx reply) is not, and the business manager is told. A
`DailyLimitError` (Notify's sends for the day used up) is transient too, but waits for the
limit to reset at midnight UTC and is not counted as an attempt: nothing is wrong with the
digest, and giving it up before the reset would lose it.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol

from worker.mail.dkim import Signer
from worker.settings import Smtp


class TransientError(Exception):
    """Worth trying again later."""


class DailyLimitError(TransientError):
    """The service may send no more today: worth trying again after midnight UTC. Its text,
    kept as the digest's last error, begins with PREFIX, which is how the service's status
    finds digests waiting for the reset."""

    PREFIX = "Paused by the daily limit"

    def __init__(self, said: str) -> None:
        super().__init__(f"{self.PREFIX} until midnight UTC: {said}")


class PermanentError(Exception):
    """The server refused for good; trying again would not help."""


class RecipientRefusedError(PermanentError):
    """The server refused the recipient's address itself for good (a 5xx to RCPT): the
    address is wrong, not the relay, the sender or the message."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> str | None:
        """Send `message`; the service's own id for it, where it gives one (Notify)."""
        ...

    def close(self) -> None: ...


class Outbox:
    """Writes each message as an .eml file; the embedded default when no relay is set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        name = re.sub(r"[^A-Za-z0-9.@_-]", "_", str(message["Message-ID"]).strip("<>")) + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a message.
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, self.folder / name)
        except OSError as exc:
            raise TransientError(
                f"cannot write to the outbox {self.folder}: {exc.strerror}"
            ) from exc

    def close(self) -> None:
        """Nothing to release."""


class SmtpRelay:
    """One connection per worker process, kept open and reused across a batch of sends.
    Each message is signed with DKIM when a signer is given, and sent with `sender` (the
    bounce address) as its envelope sender, or its From address."""

    def __init__(self, config: Smtp, password: str | None, signer: Signer | None = None,
                 sender: str | None = None) -> None:  # fmt: skip
        self.config, self.password, self.signer, self.sender = config, password, signer, sender
        self.connection: smtplib.SMTP | None = None

    def connect(self) -> smtplib.SMTP:
        config = self.config
        connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        if config.uses_tls:
            context = ssl.create_default_context(cafile=config.ca_file)
            connection.starttls(context=context)
        if config.username:
            if not isinstance(connection.sock, ssl.SSLSocket):  # settings refuse this too
                connection.close()
                raise PermanentError("refusing to log in to the mail relay without TLS")
            connection.login(config.username, self.password or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        try:
            self.send_once(message)
        except smtplib.SMTPServerDisconnected:
            # A reused connection the server had closed while idle: one fresh attempt.
            self.close()
            self.send_classified(message)
        except Exception as exc:
            self.close()
            raise classify(exc) from exc

    def send_classified(self, message: EmailMessage) -> None:
        try:
            self.send_once(message)
        except Exception as exc:
            self.close()
            raise classify(exc) from exc

    def send_once(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self.connect()
        sender, recipients = envelope(message, self.sender)
        data = message.as_bytes(policy=SMTP_POLICY)
        if self.signer is not None:
            data = self.signer.sign(data)
        refused = self.connection.sendmail(sender, recipients, data)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


def envelope(message: EmailMessage, sender: str | None) -> tuple[str, list[str]]:
    """The envelope: `sender` or the From address; every To and Cc address."""
    found = getaddresses([str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])])
    return sender or parseaddr(str(message["From"]))[1], [a for _, a in found if a]


def classify(exc: Exception) -> Exception:
    """4xx, connection and certificate trouble are transient (they can be put right, and
    the digest must not be lost meanwhile); a 5xx reply is permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min(c for c, _ in exc.recipients.values())
        replies = "; ".join(f"{c} {text(m)}" for c, m in exc.recipients.values())
        return (RecipientRefusedError if code >= 500 else TransientError)(replies)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        kind = PermanentError if exc.smtp_code >= 500 else TransientError
        return kind(f"{exc.smtp_code} {reply}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransientError(f"the mail server's certificate was refused: {exc.verify_message}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentError(f"the mail server cannot do what is required: {exc}")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return TransientError(f"{type(exc).__name__}: {exc}")
    return exc


def text(reply: bytes | str) -> str:
    """A relay's reply as people read it: "5.1.1 <a@b.org>: no such user"."""
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
