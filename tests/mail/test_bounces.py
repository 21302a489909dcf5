"""Late bounces: delivery reports in the shapes Exchange Online, Gmail and Postfix send them,
made here about digests the test relay really accepted, read from a maildir into the ledger;
and the messages that are not bounces (an out-of-office reply, a delay) left for people."""

from __future__ import annotations

import mailbox
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.support.console import NURSE, partnership
from tests.support.services import Recorder, celery_process, wait_for
from tests.support.workers import flush
from worker.app import App
from worker.cli import main
from worker.models import Delivery, DeliveryState, UndeliverableAddress

BOUNCES = "bounces@example.org"
WHO = ["--by", "business.manager@example.org", "--reason", "the mailbox was recreated"]


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def headers_of(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode()


def message_id(raw: bytes) -> str:
    found = re.search(r"^Message-ID: (\S+)", headers_of(raw), re.MULTILINE | re.IGNORECASE)
    assert found
    return found[1]


def report(boundary: str, note: str, status: str, returned: str, sender: str, subject: str
           ) -> bytes:  # fmt: skip
    text = (
        f"From: {sender}\r\nTo: <{BOUNCES}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        f"\r\n\r\n--{boundary}\r\n{note}\r\n--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n{status}\r\n"
        f"--{boundary}\r\n{returned}\r\n--{boundary}--\r\n"
    )
    return text.encode()


def exchange_online(raw: bytes, to: str) -> bytes:
    """Exchange Online's non-delivery report: a note in text and HTML, the status, and the
    returned message's headers only."""
    note = (
        'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nYour message to "
        f"{to} couldn't be delivered.\r\n--alt\r\nContent-Type: text/html; charset=us-ascii"
        f"\r\n\r\n<p>Your message to {to} couldn't be delivered.</p>\r\n--alt--"
    )
    status = (
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n"
        "Received-From-MTA: dns;relay.example.org\r\nArrival-Date: Fri, 4 Dec 2026 "
        f"08:00:03 +0000\r\n\r\nOriginal-Recipient: rfc822;{to}\r\nFinal-Recipient: rfc822;"
        f"{to}\r\nAction: failed\r\nStatus: 5.1.10\r\nDiagnostic-Code: smtp;550 5.1.10 "
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\r\n"
    )
    returned = f"Content-Type: text/rfc822-headers\r\n\r\n{headers_of(raw)}\r\n"
    return report("exo", note, status, returned,
                  "Microsoft Outlook <MicrosoftExchange329e71ec88ae@example.org>",
                  "Undeliverable: Your safeguarding actions")  # fmt: skip


def gmail(raw: bytes, to: str) -> bytes:
    """Gmail's: a note, the status, and the whole message returned."""
    note = (
        "Content-Type: text/plain; charset=UTF-8\r\n\r\n** Address not found **\r\n\r\n"
        f"Your message wasn't delivered to {to} because the address couldn't be found."
    )
    status = (
        "Reporting-MTA: dns; googlemail.com\r\nArrival-Date: Fri, 04 Dec 2026 00:00:03 -0800"
        f"\r\n\r\nFinal-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.27.26, the server for the "
        "domain.)\r\nDiagnostic-Code: smtp; 550-5.1.1 The email account that you tried to "
        "reach does not exist.\r\n"
    )
    returned = f"Content-Type: message/rfc822\r\n\r\n{raw.decode()}"
    return report("gm", note, status, returned,
                  "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                  "Delivery Status Notification (Failure)")  # fmt: skip


def postfix(raw: bytes, to: str, action: str = "failed", code: str = "5.2.2") -> bytes:
    """Postfix's: a note, the status, and the returned message's headers."""
    note = (
        "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        "\r\nThis is the mail system at host relay.example.org.\r\n"
    )
    status = (
        "Reporting-MTA: dns; relay.example.org\r\nX-Postfix-Queue-ID: 4F2A81C0123\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nOriginal-Recipient: rfc822;{to}\r\n"
        f"Action: {action}\r\nStatus: {code}\r\nRemote-MTA: dns; mx.example.org\r\n"
        f"Diagnostic-Code: smtp; 552 {code} <{to}>: mailbox full\r\n"
    )
    returned = f"Content-Type: text/rfc822-headers\r\n\r\n{headers_of(raw)}\r\n"
    return report("pf", note, status, returned,
                  "MAILER-DAEMON@relay.example.org (Mail Delivery System)",
                  "Undelivered Mail Returned to Sender")  # fmt: skip


def out_of_office(raw: bytes, to: str) -> bytes:
    return (
        f"From: {to}\r\nTo: {BOUNCES}\r\nSubject: Automatic reply: Your safeguarding actions"
        "\r\nAuto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"
        f"In-Reply-To: {message_id(raw)}\r\nContent-Type: text/plain\r\n\r\n"
        "I am out of the office until Monday.\r\n"
    ).encode()


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(tmp_path / "bounces", create=True)


def first_day(app: App) -> date:
    return app.rules().calendar().next_working_day(app.today())


def states(app: App, address: str) -> list[tuple[date, DeliveryState]]:
    with app.sessions() as session:
        query = select(Delivery).where(Delivery.recipient == address).order_by(Delivery.period)
        return [(row.period, row.state) for row in session.scalars(query)]


@pytest.mark.parametrize(
    ("database_url", "shape"),
    [("sqlite", exchange_online), ("postgresql", exchange_online), ("sqlite", gmail),
     ("sqlite", postfix)],
    indirect=["database_url"],
)  # fmt: skip
def test_a_bounce_after_delivery_marks_the_address_and_holds_its_digests(
    app: App, relay: Recorder, maildir: mailbox.Maildir, shape: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("REMINDERS_BOUNCE_ADDRESS", BOUNCES)
    partnership(app)
    first = first_day(app)
    cli("send", "--on", first.isoformat())
    [raw] = relay.to(NURSE)
    assert callable(shape)
    maildir.add(shape(raw, NURSE))
    [other, *_] = [(to[0], raw) for to, raw in relay.messages if to != [NURSE]]
    maildir.add(out_of_office(other[1], other[0]))
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert "1 delivery report(s) read; 1 other message(s) left unread" in said
    assert f"Marked undeliverable: {NURSE}" in said
    assert states(app, NURSE) == [(first, DeliveryState.FAILED)]
    assert states(app, other[0]) == [(first, DeliveryState.SENT)]  # an auto-reply: no bounce
    with app.sessions() as session:
        [mark] = session.scalars(select(UndeliverableAddress))
        assert mark.address == NURSE
        assert "reported by the mailbox after delivery" in mark.reply
    flags = sorted(m.get_flags() for m in maildir)
    assert flags == ["F", "S"]  # the report read, the auto-reply flagged for people

    second = app.rules().calendar().next_working_day(first)
    cli("send", "--on", second.isoformat())
    assert states(app, NURSE) == [(first, DeliveryState.FAILED), (second, DeliveryState.HELD)]
    assert len(relay.to(NURSE)) == 1
    assert "0 delivery report(s)" in cli("mail", "bounces", "--maildir", str(maildir._path))

    assert "2 digest(s) held for" in cli("directory", "correct", NURSE, NURSE, *WHO)
    for period in (first, second):
        cli("send", "--on", period.isoformat())
    assert len(relay.to(NURSE)) == 3  # the bounced digest and the held one, once each


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_the_same_report_read_twice_changes_nothing_more(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    [raw] = relay.to(NURSE)
    maildir.add(gmail(raw, NURSE))
    maildir.add(gmail(raw, NURSE))  # the mail server delivered it twice
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert "2 delivery report(s) read" in said
    with app.sessions() as session:
        assert len(list(session.scalars(select(UndeliverableAddress)))) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_delay_and_a_failure_of_another_message_are_not_recorded(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    [raw] = relay.to(NURSE)
    maildir.add(postfix(raw, NURSE, action="delayed", code="4.2.2"))
    stranger = raw.replace(message_id(raw).encode(), b"<sign-in.1@reminders.example.org>")
    maildir.add(postfix(stranger, "someone@elsewhere.example.org"))
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert "1 delivery report(s) read; 1 other message(s)" in said
    assert "1 failure(s) of messages that are not digests" in said
    assert states(app, NURSE) == [(first_day(app), DeliveryState.SENT)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_real_beat_and_worker_read_the_bounce_mailbox(
    app: App, relay: Recorder, maildir: mailbox.Maildir, tmp_path: Path, redis_url: str
) -> None:
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    maildir.add(exchange_online(relay.to(NURSE)[0], NURSE))
    flush(redis_url)
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url,
           "REMINDERS_BROKER_URL": redis_url,
           "REMINDERS_BOUNCE_MAILDIR": str(maildir._path),
           "REMINDERS_BOUNCE_CHECK_SECONDS": "1"}  # fmt: skip

    def marked() -> list[str]:
        with app.sessions() as session:
            return [m.address for m in session.scalars(select(UndeliverableAddress))]

    with celery_process("beat", env, tmp_path, "beat"), \
            celery_process("worker", env, tmp_path, "worker"):  # fmt: skip
        wait_for(lambda: marked() == [NURSE], 60, "the bounce read by the worker")
    assert [m.get_flags() for m in maildir] == ["S"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_report_that_returns_no_message_id_is_not_believed(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    [raw] = relay.to(NURSE)
    forged = gmail(raw, NURSE).replace(message_id(raw).encode(), b"<made-up@elsewhere.org>")
    maildir.add(forged)  # anyone may write to the bounce mailbox; none knows our Message-IDs
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert "1 failure(s) of messages that are not digests" in said
    assert states(app, NURSE) == [(first_day(app), DeliveryState.SENT)]


def test_two_digests_bounced_late_are_both_sent_again_once_corrected(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    partnership(app)
    first = first_day(app)
    second = app.rules().calendar().next_working_day(first)
    for period in (first, second):  # both sent before the first report comes back
        cli("send", "--on", period.isoformat())
    reports = [exchange_online(raw, NURSE.upper()) for raw in relay.to(NURSE)]
    assert len(reports) == 2
    for made in reports:
        maildir.add(made)
    cli("mail", "bounces", "--maildir", str(maildir._path))
    # The first report read marks the address; the other's digest is held with it.
    assert sorted(state for _, state in states(app, NURSE)) == [DeliveryState.FAILED,
                                                                DeliveryState.HELD]  # fmt: skip
    assert "2 digest(s) held for" in cli("directory", "correct", NURSE, NURSE, *WHO)
    for period in (first, second):
        cli("send", "--on", period.isoformat())
    assert len(relay.to(NURSE)) == 4  # each sent, bounced, and sent again once


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_message_past_reading_is_flagged_and_the_rest_are_read(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    broken = b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n\xff\xfe"
    maildir.add(broken)
    maildir.add(postfix(relay.to(NURSE)[0], NURSE))
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert f"Marked undeliverable: {NURSE}" in said
    assert sorted(m.get_flags() for m in maildir) == ["F", "S"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_report_about_someone_else_is_not_believed_for_the_digests_recipient(
    app: App, relay: Recorder, maildir: mailbox.Maildir
) -> None:
    """A forged report returning the nurse's digest but telling of another address leaves
    her alone; a real one whose mail server forwarded it names her as Original-Recipient."""
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    [raw] = relay.to(NURSE)
    maildir.add(gmail(raw, "attacker@elsewhere.example.org"))
    said = cli("mail", "bounces", "--maildir", str(maildir._path))
    assert "1 failure(s) of messages that are not digests" in said
    assert states(app, NURSE) == [(first_day(app), DeliveryState.SENT)]
    forwarded = postfix(raw, NURSE).replace(
        f"Final-Recipient: rfc822; {NURSE}".encode(),
        b"Final-Recipient: rfc822; nurse.home@elsewhere.example.org",
    )
    maildir.add(forwarded)
    assert f"Marked undeliverable: {NURSE}" in cli("mail", "bounces", "--maildir",
                                                    str(maildir._path))  # fmt: skip
    assert states(app, NURSE) == [(first_day(app), DeliveryState.FAILED)]
