"""A stage in hours with real processes: Celery worker and beat, Redis and an SMTP server.

The morning's digests went at 08:00; the worker's clock starts at 13:59:50 on that day, ten
seconds before the item's stage 2 (14 hours after stage 1) begins. Its people hear of it
within a few ticks, without waiting for the next morning."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from tests.conftest import new_version, seed
from tests.rules.test_within_the_day import HOURS, chosen, key_ref, utc
from tests.support.helpers import run_import
from tests.support.services import Recorder, wait_for
from tests.support.workers import flush, parsed, run_workers, worker_env
from worker.app import App
from worker.config.versions import RULES
from worker.db import transaction
from worker.delivery.tick import plan_once
from worker.mail.digest import KIND
from worker.models import Delivery, DeliveryState
from worker.obligations import keep_in_step


def notices_sent(app: App) -> list[Delivery]:
    with app.sessions() as session:
        query = select(Delivery).where(Delivery.kind != KIND, Delivery.state == DeliveryState.SENT)
        return list(session.scalars(query))


def test_a_stage_in_hours_reaches_its_people_within_ticks(
    app: App, redis_url: str, smtp: tuple[Recorder, int], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    recorder = smtp[0]
    flush(redis_url)
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        keep_in_step(session, app.rules(), app.timezone, app.today())
    new_version(app, RULES, HOURS)
    key, day = chosen(app)
    with freeze_time(utc(day, 8, 1)):
        plan_once(app, app.rules(), day, "NSCP")  # the morning's digests went
    with transaction(app.sessions) as session:
        session.execute(update(Delivery).values(state=DeliveryState.SENT))
    before = utc(day, 13, 59, 50)
    env = worker_env(app, redis_url, smtp[1], before)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with run_workers(env, tmp_path):
        wait_for(lambda: bool(notices_sent(app)), 90, "the stage's people to be told")
        print(f"told {time.monotonic() - started:.1f} s after the workers started at 13:59:50")
    told = notices_sent(app)
    assert {n.period for n in told} == {day}
    ref = key_ref(app, key)[0]
    for notice in told:
        [message] = recorder.to(notice.recipient)
        body = parsed(message).get_body(("plain",))
        assert body is not None
        assert ref in body.get_content()
