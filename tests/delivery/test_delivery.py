"""The ledger on its own: claims, fencing, backoff, recovery — with a real database and outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from worker.app import App
from worker.db import transaction
from worker.delivery.ledger import (
    CALL_IN,
    LONGEST_DELAY,
    backoff,
    claim,
    deliver,
    needing_a_push,
    retry_delays,
)
from worker.mail.digest import Digest
from worker.mail.transport import Outbox
from worker.models import Delivery, DeliveryState

NOW = datetime(2017, 2, 16, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=6)  # past the default lease of five minutes
TAKEN_OVER = LATER + timedelta(seconds=CALL_IN)  # and past the call-in at LATER


def add_row(app: App, email: str = "someone@example.org") -> int:
    digest = Digest("Some One", email, "2017-02-16", "NSCP", items=())
    with transaction(app.sessions) as session:
        row = Delivery(recipient=email, kind="digest", period=date(2017, 2, 16), state=DeliveryState.PENDING,
                       payload=digest.to_json(), subject="s", top_stage=-1, attempts=0)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def test_a_row_is_claimed_once(app: App) -> None:
    row_id = add_row(app)
    with transaction(app.sessions) as first:
        assert claim(first, row_id, NOW, "example.org") is not None
    with transaction(app.sessions) as second:
        assert claim(second, row_id, NOW, "example.org") is None  # leased to the first
        assert claim(second, row_id, LATER, "example.org") is None  # lease over, not called in
        assert needing_a_push(second, LATER) == []  # called in
        assert claim(second, row_id, TAKEN_OVER - timedelta(seconds=1), "example.org") is None
        later = claim(second, row_id, TAKEN_OVER, "example.org")  # lease and call-in over
        assert later is not None
        assert later.attempts == 2


def test_the_message_id_is_fixed_at_the_first_claim(app: App) -> None:
    row_id = add_row(app)
    with transaction(app.sessions) as session:
        first = claim(session, row_id, NOW, "example.org")
        assert first is not None
        message_id = first.message_id
    with transaction(app.sessions) as session:
        needing_a_push(session, LATER)
        again = claim(session, row_id, TAKEN_OVER, "example.org")
        assert again is not None
        assert again.message_id == message_id


def test_outbox_delivery_and_an_unwritable_outbox(app: App, tmp_path: Path) -> None:
    sent, stuck = add_row(app, "a@example.org"), add_row(app, "b@example.org")
    assert deliver(app.sessions, Outbox(tmp_path / "out"), app.settings, sent, NOW).state == "sent"
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    outcome = deliver(app.sessions, Outbox(blocked), app.settings, stuck, NOW)
    assert outcome.state == "retry"
    assert "cannot write to the outbox" in outcome.reason
    with app.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(Delivery))}
    assert rows[sent].state is DeliveryState.SENT
    assert (rows[stuck].state, rows[stuck].sent_at) == (DeliveryState.PENDING, None)
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1


def test_recovery_finds_what_a_lost_worker_left(app: App) -> None:
    pending, leased = add_row(app, "a@example.org"), add_row(app, "b@example.org")
    with transaction(app.sessions) as session:
        claim(session, leased, NOW, "example.org")
    with app.sessions() as session:
        assert needing_a_push(session, NOW) == [pending]
        assert needing_a_push(session, LATER) == [pending]  # the leased row called in
        assert needing_a_push(session, TAKEN_OVER) == [pending, leased]
        assert needing_a_push(session, NOW, requeue_after=60) == [pending]


def test_backoff_grows_and_stays_under_the_visibility_timeout() -> None:
    delays = [backoff(n, 0.999) for n in range(1, 30)]
    assert delays == sorted(delays)
    assert max(delays) <= LONGEST_DELAY < 3600
    assert backoff(1, 0.0) == 15.0


def test_an_outcome_write_keeps_trying_through_the_lease_never_a_second_apart() -> None:
    """While the lease holds nobody else may send the row: the write that records the relay's
    250 keeps trying all that time, often enough to land as soon as the database is back."""
    delays = list(retry_delays(300.0))
    assert delays[0] == 0.2
    assert max(delays) == 1.0
    assert 300.0 <= sum(delays) < 301.0
    assert list(retry_delays(0.0)) == []
