"""The worker for real: Celery worker and beat processes, Redis, an SMTP server, a database.

The worker's clock is shifted (REMINDERS_CLOCK_OFFSET) so that it lives on Thursday
16 February 2017 at 09:00, a working morning after the send time, with the seed documents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from tests.conftest import SEED_LA_CONTACTS, seed, use_la_contacts
from tests.support.helpers import run_import
from tests.support.services import Recorder
from tests.support.workers import (
    WorkerLogs,
    expected_digests,
    flush,
    ledger,
    parsed,
    run_workers,
    settle,
    worker_env,
)
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.mail.digest import Digest
from worker.mail.message import subject_line
from worker.models import Action, DeliveryState
from worker.workdays import BEYOND_CALENDAR

MALFORMED = Path(__file__).resolve().parents[1] / "data" / "malformed"
MANAGER = "business.manager@example.org"
PERIOD = date(2017, 2, 16)
MOMENT = datetime(2017, 2, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(
    app: App,
    redis_url: str,
    smtp: tuple[Recorder, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> dict[str, str]:
    """The environment of the worker processes, also set for commands run in this process;
    the directory lists the seed sheets' LA contacts."""
    flush(redis_url)
    config = use_la_contacts(app, monkeypatch, tmp_path / "config", SEED_LA_CONTACTS)
    values = worker_env(app, redis_url, smtp[1], MOMENT) | {"REMINDERS_CONFIG_DIR": str(config)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def expected(app: App) -> dict[str, Digest]:
    return expected_digests(app, PERIOD)


def test_each_recipient_gets_exactly_one_digest(
    app: App, env: dict[str, str], smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder = smtp[0]
    run_import(app, seed("000"), seed("002"))
    wanted = expected(app)
    assert len(wanted) >= 10
    with run_workers(env, tmp_path):
        settle(recorder, len(wanted), app, tmp_path)
    assert recorder.count() == len(wanted)
    rows = {r.recipient: r for r in ledger(app)}
    for address, digest in wanted.items():
        [raw] = recorder.to(address)
        message = parsed(raw)
        assert message["Subject"] == subject_line(digest)
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["List-Id"]
        assert message["Date"]
        assert message["Message-ID"] == rows[address].message_id
        assert rows[address].state is DeliveryState.SENT
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert all(item.ref in text for item in digest.items)
    # Worked out by hand from the CAP: only 1.2 (target 1 January 2017) has reached stage 4;
    # Education's 3.1 (1 February) entered stage 3 today and 4.7 (1 March) is due soon.
    for person in ("business.manager@example.org", "independent.chair@example.org"):
        assert (
            parsed(recorder.to(person)[0])["Subject"]
            == "NSCP actions: 1 overdue at Partnership stage"
        )
    education = parsed(recorder.to("education.adviser@example.org")[0])
    assert education["Subject"] == (
        "NSCP actions: 1 overdue at Senior manager / designated safeguarding lead stage, 1 due soon"
    )


def test_the_same_period_twice_and_two_workers_send_nothing_twice(
    app: App, env: dict[str, str], smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder = smtp[0]
    run_import(app, seed("000"), seed("002"))
    wanted = expected(app)
    with run_workers(env, tmp_path, workers=2, beats=2):
        settle(recorder, len(wanted), app, tmp_path)
    assert recorder.count() == len(wanted)
    assert all(len(recorder.to(a)) == 1 for a in wanted)
    result = CliRunner().invoke(main, ["send", "--on", PERIOD.isoformat()])
    assert result.exit_code == 0, result.output
    assert "0 digest(s) to send" in result.output
    assert recorder.count() == len(wanted)


def test_451_is_retried_and_550_is_failed_once_then_reported(
    app: App, env: dict[str, str], smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder = smtp[0]
    run_import(app, seed("000"), seed("002"))
    wanted = expected(app)
    slow, gone = "education.adviser@example.org", "partnership.officer@example.org"
    assert slow in wanted
    assert gone in wanted
    recorder.replies = {slow: ["451 4.3.0 Try again later"] * 2, gone: ["550 5.1.1 No such user"]}
    with run_workers(env, tmp_path):
        settle(recorder, len(wanted) - 1, app, tmp_path)
    rows = {r.recipient: r for r in ledger(app)}
    assert (rows[slow].state, rows[slow].attempts) == (DeliveryState.SENT, 3)
    assert len(recorder.to(slow)) == 1
    assert (rows[gone].state, rows[gone].attempts) == (DeliveryState.FAILED, 1)
    assert "550" in (rows[gone].last_error or "")
    assert [r for r in recorder.refusals if r[0] == gone] == [(gone, "550 5.1.1 No such user")]
    assert recorder.to(gone) == []
    result = CliRunner().invoke(main, ["send", "--on", "2017-02-17"])
    assert result.exit_code == 0, result.output
    latest = parsed(recorder.to("business.manager@example.org")[-1])
    body = latest.get_body(("plain",))
    assert body is not None
    assert gone in body.get_content()
    assert "undelivered" in latest["Subject"]


def test_a_poisoned_item_stops_nobody_elses_digest(
    app: App, env: dict[str, str], smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    """A good plan and a bad one side by side: the bad one (31/12/9999) is refused, and the
    same date written straight into the table stops nobody's digest but its own item's."""
    recorder = smtp[0]
    good, bad = run_import(app, seed("002"), MALFORMED / "cap_year_9999.txt")
    assert good.error is None
    assert bad.error is not None
    clean = expected(app)
    with transaction(app.sessions) as session:
        session.execute(
            update(Action).where(Action.ref == "1.2").values(target_date=date(9999, 12, 31))
        )
    wanted = expected(app)
    with run_workers(env, tmp_path):
        settle(recorder, len(wanted), app, tmp_path)
    assert recorder.count() == len(wanted)
    print(f"\npoisoned item: {len(wanted)} of {len(wanted)} expected digests delivered")
    for address, digest in clean.items():
        refs = {i.ref for i in digest.items} - {"1.2"}
        if not refs:  # the independent chair was told of 1.2 alone
            assert recorder.to(address) == [] or address == MANAGER
            continue
        [raw] = recorder.to(address)
        text = plain_text(parsed(raw))
        assert all(f"{ref}  " in text for ref in refs)
        assert "1.2  " not in text
    [raw] = recorder.to(MANAGER)
    message = parsed(raw)
    assert message["Subject"] == "NSCP actions: 1 needs attention"
    text = plain_text(message)
    assert "Needs your attention" in text
    assert "1.2 (Serious Case Review Composite Action Plan" in text
    assert f"could not assess: {BEYOND_CALENDAR}" in text
    assert {r.state for r in ledger(app)} == {DeliveryState.SENT}


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return " ".join(body.get_content().split("\n    "))  # unwrap the indented fields


def test_the_workers_count_as_quiet_only_once_every_task_taken_is_done(tmp_path: Path) -> None:
    """What `settle` waits for, read from logs written as Celery writes them."""
    log = tmp_path / "worker0.log"
    line = "[2026-12-03 08:00:0{n},000: INFO/MainProcess] Task reminders.{task}[{id}] {what}\n"

    def write(n: int, task: str, task_id: str, what: str) -> None:
        with log.open("a") as f:
            f.write(line.format(n=n, task=task, id=task_id, what=what))

    write(0, "tick", "0a", "received")
    write(0, "tick", "0a", "succeeded in 0.01s: 1")
    logs = WorkerLogs.now(tmp_path)
    assert logs.ticking
    write(1, "send_digest", "1b", "received")
    for n in range(3):
        write(n + 1, "tick", f"2{n}", "received")
        write(n + 1, "tick", f"2{n}", "succeeded in 0.01s: 0")
    assert not logs.quiet()  # a digest being sent: it may be a second copy
    write(4, "send_digest", "1b", "retry: Retry in 1s")
    write(4, "send_digest", "1b", "received")
    assert not logs.quiet()  # retried, and taken again
    write(5, "send_digest", "1b", "succeeded in 0.1s: 'sent'")
    assert logs.quiet()
    assert not WorkerLogs.now(tmp_path).quiet()  # no tick done since
