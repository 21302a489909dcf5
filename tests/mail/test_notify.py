"""GOV.UK Notify as the transport, against the local Notify API server (tests/support/notify.py):
what each digest becomes, how Notify's refusals are sorted, and its delivery receipts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

import httpx
import pytest
from click.testing import CliRunner
from limits.storage import MemoryStorage
from sqlalchemy import select

from tests.support.console import MANAGER, NURSE, csrf, partnership, sign_in
from tests.support.notify import (
    DAILY_LIMIT,
    MISSING_FIELD,
    SERVICE_ID,
    SILENT,
    TEAM_ONLY,
    NotifyServer,
    notify_env,
    notify_server,
)
from tests.support.services import wait_for
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.delivery.jobs import status
from worker.delivery.ledger import MAX_ATTEMPTS, deliver
from worker.delivery.tick import plan_once
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.mail.notify import NotifyTransport
from worker.models import Delivery, DeliveryState, UndeliverableAddress
from worker.settings import load_settings

TOKEN = "a-callback-token-set-in-notify-0123456789"
NOTIFY_SETTINGS = {"templates": {"digest": str(uuid.UUID(int=1)), "sign_in": str(uuid.UUID(int=2))}}


@pytest.fixture(autouse=True)
def notify(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyServer]:
    """Set up before the app: its settings send through Notify."""
    with notify_server() as server:
        for key, value in notify_env(server, timeout=1.0).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("REMINDERS_NOTIFY_CALLBACK_TOKEN", TOKEN)
        yield server


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def first_day(app: App) -> date:
    return app.rules().calendar().next_working_day(app.today())


def rows(app: App) -> list[Delivery]:
    with app.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def sent_app(app: App) -> App:
    """The partnership, the first working day's digests sent through Notify."""
    partnership(app)
    cli("send", "--on", first_day(app).isoformat())
    return app


def test_each_digest_is_one_notification_of_the_digest_template(
    app: App, notify: NotifyServer
) -> None:
    sent_app(app)
    ledger = rows(app)
    assert ledger
    assert {r.state for r in ledger} == {DeliveryState.SENT}
    assert notify.count() == len(ledger)
    assert notify.refused_tokens == 0  # every request carried a good token
    settings = load_settings()
    assert settings.notify is not None
    for row in ledger:
        [made] = notify.to(row.recipient)
        assert made["template_id"] == settings.notify.templates["digest"]
        assert made["reference"] == (row.message_id or "").strip("<>")
        assert made["id"] == row.provider_id
        message = build_digest_message(Digest.from_json(row.payload), sender=settings.mail_from,
                                       message_id=row.message_id or "", list_id="l.example.org",
                                       sent_at=row.sent_at or app.now())  # fmt: skip
        body = message.get_body(preferencelist=("plain",))
        assert isinstance(body, EmailMessage)
        assert made["personalisation"] == {"subject": row.subject, "body": body.get_content()}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
@pytest.mark.parametrize(
    ("status", "state", "words"),
    [
        (400, DeliveryState.FAILED, "Notify 400"),
        (TEAM_ONLY, DeliveryState.PENDING, "BadRequestError: Can't send to this recipient"),
        (MISSING_FIELD, DeliveryState.PENDING, "ValidationError: Missing personalisation"),
        (403, DeliveryState.PENDING, "Notify 403"),
        (429, DeliveryState.PENDING, "Notify 429"),
        (500, DeliveryState.PENDING, "Notify 500"),
    ],
)
def test_notifys_refusals_are_sorted_like_a_relays(
    app: App, notify: NotifyServer, status: int, state: DeliveryState, words: str
) -> None:
    notify.answers = [status]
    sent_app(app)
    first, *others = rows(app)
    assert first.state is state
    assert words in (first.last_error or "")
    assert {r.state for r in others} == {DeliveryState.SENT}
    with app.sessions() as session:
        marked = [m.address for m in session.scalars(select(UndeliverableAddress))]
    assert marked == ([first.recipient] if status == 400 else [])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_no_answer_is_worth_trying_again(app: App, notify: NotifyServer) -> None:
    notify.answers = [SILENT]  # longer than the client waits (1 s)
    sent_app(app)
    first, *others = rows(app)
    assert first.state is DeliveryState.PENDING
    assert "ReadTimeout" in (first.last_error or "")
    assert {r.state for r in others} == {DeliveryState.SENT}


def post_receipt(client: httpx.Client, row: Delivery, status: str, token: str = TOKEN,
                 provider_id: str | None = None) -> httpx.Response:  # fmt: skip
    body = {"id": provider_id or row.provider_id, "reference": (row.message_id or "")[1:-1],
            "to": row.recipient, "status": status, "notification_type": "email",
            "created_at": "2026-12-07T08:00:01.000000Z"}  # fmt: skip
    return client.post("/notify/receipts", json=body, headers={"authorization": f"Bearer {token}"})


def test_delivery_receipts_reach_the_ledger_once(app: App, notify: NotifyServer) -> None:
    first, second, third, fourth, fifth, *_ = rows(sent_app(app))
    with serving(app) as client:
        assert post_receipt(client, first, "delivered", token="not-it").status_code == 401
        assert post_receipt(client, first, "delivered").json() == {"result": "delivered"}
        assert post_receipt(client, first, "delivered").json() == {"result": "nothing"}
        said = post_receipt(client, second, "permanent-failure").json()
        assert said == {"result": "undeliverable"}
        assert post_receipt(client, third, "technical-failure").json() == {"result": "again"}
        stale = post_receipt(client, third, "technical-failure")  # the same receipt again
        assert stale.json() == {"result": "nothing"}
        stranger = post_receipt(client, fourth, "permanent-failure", provider_id="f00")
        assert stranger.json() == {"result": "nothing"}  # not the id Notify gave it
        odd = post_receipt(client, fourth, "accepted-by-a-martian")
        assert odd.json() == {"result": "nothing"}
        with app.sessions() as session:  # as while its worker records it as sent
            session.get(Delivery, fifth.id).state = DeliveryState.SENDING  # type: ignore[union-attr]
            session.commit()
        later = post_receipt(client, fifth, "delivered")
        assert later.status_code == 503  # Notify sends it again later
        assert later.headers["retry-after"] == "60"
        assert client.post("/notify/receipts", content=b"{", headers={
            "authorization": f"Bearer {TOKEN}"}).status_code == 400  # fmt: skip
    after = {r.id: r for r in rows(app)}
    assert (after[first.id].state, after[first.id].receipt) == (DeliveryState.SENT, "delivered")
    assert after[second.id].state is DeliveryState.FAILED
    assert after[third.id].state is DeliveryState.PENDING
    assert (after[fourth.id].state, after[fourth.id].receipt) == (DeliveryState.SENT, None)
    with app.sessions() as session:
        marked = [m.address for m in session.scalars(select(UndeliverableAddress))]
    assert marked == [second.recipient]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_technical_failure_is_sent_again_and_then_delivered(
    app: App, notify: NotifyServer
) -> None:
    [row, *_] = rows(sent_app(app))
    with serving(app) as client:
        assert post_receipt(client, row, "technical-failure").json() == {"result": "again"}
    with app.sessions() as session:  # as if its backoff had passed
        session.get(Delivery, row.id).next_attempt_at = None  # type: ignore[union-attr]
        session.commit()
    cli("send", "--on", first_day(app).isoformat())
    again = {r.id: r for r in rows(app)}[row.id]
    assert again.state is DeliveryState.SENT
    assert again.message_id == row.message_id  # the same digest, the same reference
    assert again.provider_id != row.provider_id
    assert len(notify.to(row.recipient)) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_sign_in_link_goes_as_the_sign_in_template(app: App, notify: NotifyServer) -> None:
    with serving(app) as client:
        page = client.get("/console/sign-in")
        client.post("/console/sign-in", data={"csrftoken": csrf(page), "email": NURSE})
    wait_for(lambda: len(notify.to(NURSE)) == 1, 10, "the link sent through Notify")
    [made] = notify.to(NURSE)
    assert made["template_id"] == notify_env(notify)["REMINDERS_NOTIFY__TEMPLATES__SIGN_IN"]
    assert "/console/sign-in/" in made["personalisation"]["body"]


def test_smtp_and_notify_together_are_refused(notify: NotifyServer) -> None:
    with pytest.raises(Exception, match="choose one mail transport"):
        load_settings(smtp={"host": "relay.example.org"})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_the_daily_limit_is_waited_out_until_midnight_utc_then_sent_once(
    app: App, notify: NotifyServer
) -> None:
    partnership(app)
    period = first_day(app)
    notify.answers = [DAILY_LIMIT] * (MAX_ATTEMPTS + 1)  # more days of it than attempts
    monday = datetime.combine(period, time(9, 0), tzinfo=UTC)
    plan_once(app, app.rules(), period, app.partnership_label())
    [first, *_] = rows(app)
    transport = NotifyTransport.of(app.settings)
    try:
        for day in range(MAX_ATTEMPTS + 1):  # each day's attempt meets the limit again
            now = monday + timedelta(days=day)
            outcome = deliver(app.sessions, transport, app.settings, first.id, now)
            assert outcome.state == "retry"
            paused = {r.id: r for r in rows(app)}[first.id]
            resumes = datetime.combine(now.date() + timedelta(days=1), time(0, 1), tzinfo=UTC)
            assert (paused.state, paused.attempts) == (DeliveryState.PENDING, 0)
            assert paused.next_attempt_at is not None
            assert paused.next_attempt_at.replace(tzinfo=UTC) == resumes
            early = resumes - timedelta(minutes=2)
            assert (
                deliver(app.sessions, transport, app.settings, first.id, early).state == "skipped"
            )  # before the reset: not tried, Notify not asked
        with app.sessions() as session:
            said = status(session)
        assert said.paused_until is not None
        with serving(app) as client:
            sign_in(client, app, MANAGER)
            page = client.get("/console/")
        assert "Sending is paused by Notify's daily limit" in page.text
        after = resumes + timedelta(seconds=1)
        assert deliver(app.sessions, transport, app.settings, first.id, after).state == "sent"
        assert deliver(app.sessions, transport, app.settings, first.id, after).state == "skipped"
    finally:
        transport.close()
    assert len(notify.to(first.recipient)) == 1  # sent once, after the reset
    with app.sessions() as session:
        assert status(session).paused_until is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the ledger as elsewhere
def test_a_complaint_is_kept_with_its_digest_and_shown_to_the_business_manager(
    app: App, notify: NotifyServer
) -> None:
    first, second, *_ = rows(sent_app(app))
    body = {"notification_id": first.provider_id, "complaint_id": str(uuid.uuid4()),
            "reference": (first.message_id or "")[1:-1], "to": first.recipient,
            "complaint_date": "2026-12-07 09:10:11.000000"}  # fmt: skip
    auth = {"authorization": f"Bearer {TOKEN}"}
    with serving(app) as client:
        assert client.post("/notify/receipts", json=body, headers=auth).json() == {
            "result": "complaint"}  # fmt: skip
        stranger = {**body, "notification_id": str(uuid.uuid4())}  # not the id Notify gave it
        assert client.post("/notify/receipts", json=stranger, headers=auth).json() == {
            "result": "nothing"}  # fmt: skip
        nameless = {**body, "reference": None}
        assert client.post("/notify/receipts", json=nameless, headers=auth).status_code == 200
        sign_in(client, app, MANAGER)
        page = client.get("/console/")
    after = {r.id: r for r in rows(app)}
    assert (after[first.id].state, after[first.id].receipt) == (DeliveryState.SENT, "complaint")
    assert after[second.id].receipt is None
    assert "Digests reported as spam (1)" in page.text
    assert first.recipient in page.text.split('id="complaints"')[1].split("</table>")[0]


def test_the_per_minute_rate_is_shared_by_every_key_of_one_type() -> None:
    """Notify counts a service's requests per type of key: two live keys share one count,
    a team key has its own."""
    storage = MemoryStorage()
    config = load_settings(notify=NOTIFY_SETTINGS).notify
    assert config is not None
    live = config.model_copy(update={"rate": "2/minute"})
    first = NotifyTransport(live, f"one-{SERVICE_ID}-{uuid.uuid4()}", storage)
    second = NotifyTransport(live, f"two-{SERVICE_ID}-{uuid.uuid4()}", storage)
    team = NotifyTransport(live.model_copy(update={"key_type": "team"}),
                           f"three-{SERVICE_ID}-{uuid.uuid4()}", storage)  # fmt: skip
    try:
        first.wait_for_room()
        first.wait_for_room()
        assert not second.limiter.test(second.rate, "notify", second.key)  # the same count
        assert team.limiter.test(team.rate, "notify", team.key)  # another type's own
    finally:
        for transport in (first, second, team):
            transport.close()
