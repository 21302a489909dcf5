"""An address the relay refuses for good: marked, its digests held, then sent once corrected
(against the SMTP test server)."""

from __future__ import annotations

import smtplib
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from tests.support.console import NURSE, partnership
from tests.support.services import Recorder
from worker.app import App
from worker.cli import main
from worker.delivery.ledger import deliver
from worker.delivery.tick import plan_once
from worker.directory.undeliverable import correct
from worker.mail.transport import PermanentError, RecipientRefusedError, classify
from worker.mail.transports import transport_for
from worker.models import Delivery, DeliveryState, UndeliverableAddress
from worker.settings import load_settings

CORRECTED = "designated.nurse@health.example.org"
WHO = ["--by", "business.manager@example.org", "--reason", "the nurse's address had a typo"]


def send(period: date) -> str:
    result = CliRunner().invoke(main, ["send", "--on", period.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def rows_for(app: App, address: str) -> list[Delivery]:
    with app.sessions() as session:
        query = select(Delivery).where(Delivery.recipient == address)
        return list(session.scalars(query.order_by(Delivery.period)))


def test_refused_then_held_then_corrected_and_sent(app: App, relay: Recorder) -> None:
    partnership(app)
    calendar = app.rules().calendar()
    first = calendar.next_working_day(app.today())
    second = calendar.next_working_day(first)
    relay.replies = {NURSE: ["550 5.1.1 <designated.nurse@example.org>: no such user"]}
    send(first)
    assert relay.to(NURSE) == []
    send(second)  # planned for the refused address: held, never offered to the relay
    assert [(r.period, r.state) for r in rows_for(app, NURSE)] == [
        (first, DeliveryState.FAILED), (second, DeliveryState.HELD)
    ]  # fmt: skip
    [held] = [r for r in rows_for(app, NURSE) if r.state is DeliveryState.HELD]
    assert held.last_error is not None
    assert "550 5.1.1" in held.last_error
    assert [address for address, _ in relay.refusals] == [NURSE]  # asked once, never again
    with app.sessions() as session:
        [mark] = session.scalars(select(UndeliverableAddress))
        assert (mark.address, mark.corrected_at) == (NURSE, None)
        assert "no such user" in mark.reply

    corrected = CliRunner().invoke(main, ["directory", "correct", NURSE, CORRECTED, *WHO])
    assert corrected.exit_code == 0, corrected.output
    assert "Saved directory version 2" in corrected.output
    assert "2 digest(s) held for" in corrected.output
    assert rows_for(app, NURSE) == []
    released = rows_for(app, CORRECTED)
    assert [(r.period, r.state) for r in released] == [
        (first, DeliveryState.PENDING), (second, DeliveryState.PENDING)
    ]  # fmt: skip

    settings = load_settings()  # as the worker's next push: the real relay
    transport = transport_for(settings)
    try:
        outcomes = [deliver(app.sessions, transport, settings, r.id, app.now()) for r in released]
    finally:
        transport.close()
    assert [o.state for o in outcomes] == ["sent", "sent"]
    assert len(relay.to(CORRECTED)) == 2
    assert relay.to(NURSE) == []
    contacts = [c.email for a in app.directory().agencies for c in a.contacts]
    assert CORRECTED in contacts
    assert NURSE not in contacts
    with app.sessions() as session:
        [mark] = session.scalars(select(UndeliverableAddress))
        assert mark.corrected_to == CORRECTED
        assert mark.corrected_by == "business.manager@example.org"
    third = calendar.next_working_day(second)
    send(third)
    assert [r.state for r in rows_for(app, CORRECTED)][-1] is DeliveryState.SENT


def test_a_mended_mailbox_gets_its_held_digests_at_the_same_address(
    app: App, relay: Recorder
) -> None:
    partnership(app)
    first = app.rules().calendar().next_working_day(app.today())
    relay.replies = {NURSE: ["552 5.2.2 mailbox full"]}
    send(first)
    mended = CliRunner().invoke(main, ["directory", "correct", NURSE, NURSE, *WHO])
    assert mended.exit_code == 0, mended.output
    assert "Saved directory version" not in mended.output  # the directory did not change
    [row] = rows_for(app, NURSE)
    assert row.state is DeliveryState.PENDING


def test_a_backlog_for_a_refused_address_is_held_and_released_whole(
    app: App, relay: Recorder
) -> None:
    """Two periods planned before either was sent: the first refusal marks the address, the
    second digest is held with it (not failed and forgotten), and both go once corrected."""
    partnership(app)
    calendar = app.rules().calendar()
    first = calendar.next_working_day(app.today())
    second = calendar.next_working_day(first)
    for period in (first, second):
        plan_once(app, app.rules(), period, app.partnership_label())
    relay.replies = {NURSE: ["550 5.1.1 no such user"] * 2}
    settings = load_settings()
    transport = transport_for(settings)
    try:
        for row in rows_for(app, NURSE):
            deliver(app.sessions, transport, settings, row.id, app.now())
    finally:
        transport.close()
    assert [r.state for r in rows_for(app, NURSE)] == [DeliveryState.FAILED, DeliveryState.HELD]
    with app.sessions() as session, session.begin():
        released = correct(session, NURSE, NURSE, "business.manager@example.org", app.now())
    assert released.sent_again == 2
    assert [r.state for r in rows_for(app, NURSE)] == [DeliveryState.PENDING] * 2


def test_a_refused_digest_resent_and_delivered_is_not_sent_again_by_a_correction(
    app: App, relay: Recorder
) -> None:
    partnership(app)
    first = app.rules().calendar().next_working_day(app.today())
    relay.replies = {NURSE: ["550 5.1.1 no such user"]}
    send(first)
    with app.sessions() as session, session.begin():
        [row] = session.scalars(select(Delivery).where(Delivery.recipient == NURSE))
        row.state = DeliveryState.SENT  # resent from the console, and taken this time
    with app.sessions() as session, session.begin():
        released = correct(session, NURSE, NURSE, "business.manager@example.org", app.now())
    assert released.sent_again == 0
    assert [r.state for r in rows_for(app, NURSE)] == [DeliveryState.SENT]


class RelayDown:
    """A relay that refuses the sender's login for good: nothing to do with any address."""

    def send(self, message: object) -> None:
        raise PermanentError("535 5.7.8 authentication credentials invalid")

    def close(self) -> None:
        """Nothing to release."""


def test_a_permanent_refusal_that_is_not_about_the_address_marks_nothing(app: App) -> None:
    partnership(app)
    first = app.rules().calendar().next_working_day(app.today())
    plan_once(app, app.rules(), first, app.partnership_label())
    [row] = rows_for(app, NURSE)
    outcome = deliver(app.sessions, RelayDown(), load_settings(), row.id, app.now())
    assert outcome.state == "failed"
    with app.sessions() as session:
        assert session.scalars(select(UndeliverableAddress)).all() == []


def test_only_a_refused_recipient_is_the_address_s_fault() -> None:
    refused = classify(smtplib.SMTPRecipientsRefused({NURSE: (550, b"5.1.1 no such user")}))
    assert isinstance(refused, RecipientRefusedError)
    assert str(refused) == "550 5.1.1 no such user"
    rejected = classify(smtplib.SMTPDataError(554, b"5.7.1 message content rejected"))
    assert isinstance(rejected, PermanentError)
    assert not isinstance(rejected, RecipientRefusedError)
