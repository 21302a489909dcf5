"""Getting a message to people, directly: the outbox, the relay, and how failures are sorted."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.services import Recorder
from worker.mail.transport import (
    Outbox,
    PermanentError,
    RecipientRefusedError,
    SmtpRelay,
    TransientError,
    classify,
)
from worker.settings import Smtp


def message(to: str = "dsl@school.example.org") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "reminders@example.org", to, "Your digest"
    mail["Message-ID"] = "<digest-1/2017-02-28@example.org>"
    mail.set_content("Two items need you.")
    return mail


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (smtplib.SMTPResponseException(451, b"4.3.0 try later"), TransientError, "451 4.3.0"),
        (smtplib.SMTPResponseException(550, "5.1.1 no such user"), PermanentError, "550 5.1.1"),
        (smtplib.SMTPRecipientsRefused({"a@x.org": (452, b"full")}), TransientError, "452"),
        (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"gone")}), RecipientRefusedError, "550"),
        (smtplib.SMTPServerDisconnected("gone away"), TransientError, "gone away"),
        (ConnectionRefusedError(111, "Connection refused"), TransientError, "refused"),
        (smtplib.SMTPNotSupportedError("no STARTTLS"), PermanentError, "cannot do"),
    ],
)
def test_failures_are_sorted_into_retry_later_or_give_up(
    exc: Exception, kind: type[Exception], words: str
) -> None:
    found = classify(exc)
    assert type(found) is kind
    assert words in str(found)


def test_a_refused_certificate_is_worth_retrying_once_put_right() -> None:
    exc = ssl.SSLCertVerificationError("certificate verify failed")
    exc.verify_message = "self-signed certificate"
    assert str(classify(exc)) == (
        "the mail server's certificate was refused: self-signed certificate"
    )


def test_anything_else_is_not_a_mail_failure_and_passes_through() -> None:
    bug = KeyError("template")
    assert classify(bug) is bug


def test_the_outbox_writes_whole_files_named_by_message_id(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    outbox.send(message())
    [written] = (tmp_path / "outbox").iterdir()
    assert written.name == "digest-1_2017-02-28@example.org.eml"
    assert b"Two items need you." in written.read_bytes()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(TransientError, match="cannot write to the outbox"):
        Outbox(blocked / "outbox").send(message())


def test_the_relay_reuses_its_connection_and_reconnects_once_when_dropped(
    smtp: tuple[Recorder, int],
) -> None:
    recorder, port = smtp
    relay = SmtpRelay(Smtp(host="127.0.0.1", port=port, starttls=False), None)
    try:
        relay.send(message("a@school.example.org"))
        first = relay.connection
        relay.send(message("b@school.example.org"))
        assert relay.connection is first  # one connection for the batch
        assert first is not None
        first.docmd("QUIT")  # the server hangs up, as after its idle timeout
        relay.send(message("c@school.example.org"))
        assert relay.connection is not first
    finally:
        relay.close()
    assert [len(recorder.to(f"{x}@school.example.org")) for x in "abc"] == [1, 1, 1]


def test_the_relay_raises_permanent_for_a_refused_recipient(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    recorder.replies = {"gone@school.example.org": ["550 5.1.1 No such user"]}
    relay = SmtpRelay(Smtp(host="127.0.0.1", port=port, starttls=False), None)
    with pytest.raises(PermanentError) as refused:
        relay.send(message("gone@school.example.org"))
    assert str(refused.value) == "550 5.1.1 No such user"  # as the relay said it
    assert relay.connection is None  # closed, not left half-used
    assert recorder.count() == 0
