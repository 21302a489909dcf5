"""A database outage longer than the lease, while digests the relay accepted wait to be
recorded as sent: the workers holding them record them once the database is back, and the
recovery pass, which finds their leases run out, sends none of them a second time."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session

from tests.delivery.test_reliability import SCHOOLS, Scene, cluster_scene
from tests.support.services import PostgresCluster, wait_for
from tests.support.workers import run_workers, settle
from worker.app import App
from worker.db import transaction
from worker.delivery.ledger import CALL_IN, Persist, claim, finish, needing_a_push
from worker.mail.digest import Digest
from worker.models import Delivery, DeliveryState

__all__ = ["cluster_scene"]  # the fixture, shared with the other faults of the database

NOW = datetime(2017, 2, 28, 9, 0, tzinfo=UTC)
LEASE = 15.0


def add_row(app: App, email: str = "someone@example.org") -> int:
    digest = Digest("Some One", email, "2017-02-28", "NSCP", items=())
    with transaction(app.sessions) as session:
        row = Delivery(recipient=email, kind="digest", period=date(2017, 2, 28),
                       state=DeliveryState.PENDING, payload=digest.to_json(), subject="s",
                       top_stage=-1, attempts=0)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_a_sender_waiting_out_an_outage_longer_than_its_lease_keeps_its_row(app: App) -> None:
    """Claimed at 0 s with a 15 s lease, sent, and the database gone until 20 s: the first
    recovery pass after it calls the row in rather than handing it to another worker, and
    the sender's outcome write, the moment it gets through, records the send."""
    row_id = add_row(app)
    with transaction(app.sessions) as session:
        held = claim(session, row_id, at(0), "example.org", LEASE)
        assert held is not None
        session.expunge(held)
    # The relay accepted the message at 0.1 s; the database was unreachable from then on.
    with transaction(app.sessions) as session:  # 20 s: the database back, a tick first
        assert needing_a_push(session, at(20)) == []
        assert claim(session, row_id, at(20), "example.org", LEASE) is None
    with transaction(app.sessions) as session:  # then the sender's next try, at most 1 s on
        assert finish(session, held, state=DeliveryState.SENT, sent_at=at(0), lease_until=None)
    with app.sessions() as session:
        row = session.get_one(Delivery, row_id)
        assert (row.state, row.attempts) == (DeliveryState.SENT, 1)
        assert needing_a_push(session, at(20 + CALL_IN + 60)) == []


def test_a_row_whose_sender_is_gone_is_sent_again_after_lease_and_call_in(app: App) -> None:
    row_id = add_row(app)
    with transaction(app.sessions) as session:
        assert claim(session, row_id, at(0), "example.org", LEASE) is not None
    with transaction(app.sessions) as session:
        assert needing_a_push(session, at(14)) == []  # leased
        assert needing_a_push(session, at(16)) == []  # called in until 16 s + CALL_IN
        assert needing_a_push(session, at(16 + CALL_IN - 1)) == []
    with transaction(app.sessions) as session:  # a later recovery pass calls in nothing new
        assert needing_a_push(session, at(16 + CALL_IN)) == [row_id]
        taken = claim(session, row_id, at(16 + CALL_IN), "example.org", LEASE)
        assert taken is not None
        assert (taken.attempts, taken.next_attempt_at) == (2, None)
    with transaction(app.sessions) as session:  # the new claim has a lease of its own
        assert needing_a_push(session, at(16 + CALL_IN + 1)) == []


def test_an_outcome_write_rides_out_a_lost_connection_of_any_class(app: App) -> None:
    """A lost connection is tried again whatever class the driver gave its error (psycopg's
    own errors without an SQLSTATE are a bare DatabaseError); any other error is not."""
    row_id, tries = add_row(app), []

    def write(session: Session) -> None:
        tries.append(1)
        if len(tries) < 3:
            raise DatabaseError("COMMIT", {}, Exception("server closed the connection"),
                                connection_invalidated=True)  # fmt: skip
        session.execute(select(Delivery.id).where(Delivery.id == row_id))

    Persist(app.sessions, 5.0)(write)
    assert len(tries) == 3

    def broken(session: Session) -> None:
        tries.append(1)
        raise IntegrityError("UPDATE", {}, Exception("a constraint"))

    tries.clear()
    with pytest.raises(IntegrityError):
        Persist(app.sessions, 5.0)(broken)
    assert len(tries) == 1


def test_database_down_for_twice_the_lease_with_digests_in_flight(
    cluster_scene: tuple[Scene, PostgresCluster],
) -> None:
    """The relay holds its reply until most sending threads wait on it, so that PostgreSQL,
    stopped then, is down when their 250s arrive; it stays down for twice the lease. Every
    digest goes out once: the recovery pass finds those rows past their lease, and calls
    them in while their senders record them."""
    scene, cluster = cluster_scene
    lease = 6.0
    env = scene.env(lease_seconds=f"{lease:.0f}", requeue_after_seconds="2")
    recorder = scene.recorder
    recorder.delay = 0.02
    with run_workers(env, scene.folder):
        wait_for(lambda: recorder.count() >= 40, 60, "40 digests")
        held_from, recorder.delay = time.monotonic(), 1.5
        wait_for(lambda: recorder.busy >= 6 and recorder.pausing_since(held_from), 60,
                 "six digests held in flight")  # fmt: skip
        in_flight = recorder.count() + recorder.busy
        cluster.stop("fast")  # the held digests are accepted with the database down
        recorder.delay = 0.02
        time.sleep(2 * lease)
        cluster.start()
        settle(recorder, SCHOOLS, scene.app, scene.folder, timeout=120)
    scene.delivered_once(
        f"database down for {2 * lease:.0f} s, twice the lease, digests in flight",
        f"stopped with {in_flight} sent or in flight, 6 or more accepted while it was down",
    )
