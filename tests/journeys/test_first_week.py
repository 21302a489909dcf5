"""A partnership's first week, with real processes and a clock that moves a day at a time.

Installed on Monday 7 December 2026 with the plan it already has, the service runs each
working morning as Celery worker and beat processes (Redis, an SMTP server, an outside
monitor on loopback). Through the week:

* each morning the digests that go out are exactly those planning says each person is due,
  one each;
* on Monday the designated nurse acknowledges one item and marks another complete from the
  links in her digest, in Chromium; both are recorded, and the completed item is in nobody's
  open items after;
* on Tuesday evening the business manager adds an alias to the directory: no item's record
  changes;
* on Wednesday every tick fails (a table the daily run reads is away): no digest goes, the
  operator's mailbox and the monitor are told once;
* on Thursday the fault is put right and the morning's digests go as usual; Friday too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, text

from tests.conftest import new_version, seed
from tests.journeys.test_journeys import digest_links
from tests.obligations.test_directory_identity import PLAN, directory, record_of
from tests.support.browser import new_page
from tests.support.helpers import run_import
from tests.support.monitor import Monitor, monitor
from tests.support.services import Recorder, wait_for
from tests.support.web import serving
from tests.support.workers import expected_digests, flush, parsed, run_workers, settle
from tests.support.workers import worker_env as base_env
from worker.app import App
from worker.config.versions import DIRECTORY
from worker.mail.digest import Digest
from worker.mail.message import subject_line
from worker.models import Delivery, LinkUse, ObligationEvent

NURSE = "designated.nurse@example.org"
OPERATOR = "operator@example.org"
WEEK = [date(2026, 12, 7) + timedelta(days=n) for n in range(5)]  # Monday to Friday


@pytest.fixture
def week(app: App, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Monitor]:
    flush(redis_url)
    with monitor() as found:
        monkeypatch.setenv("REMINDERS_OPERATOR_EMAIL", OPERATOR)
        monkeypatch.setenv("REMINDERS_PING_URL", found.url)
        yield found


def at(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def clock(app: App, moment: datetime) -> None:
    """This process's clock (the web pages', the directory edit's) reads `moment` now."""
    offset = moment - datetime.now(UTC)
    app.settings = app.settings.model_copy(update={"clock_offset": offset})


def morning(app: App, day: date, week: Monitor, smtp: tuple[Recorder, int], folder: Path,
            redis: str) -> list[tuple[str, str]]:  # fmt: skip
    """The worker and beat from just before the send time until the day is judged and the
    monitor told; each message sent that morning, as (recipient, subject)."""
    recorder, port = smtp
    env = base_env(app, redis, port, at(day, 7, 59, 55)) | {
        "REMINDERS_OPERATOR_EMAIL": OPERATOR,
        "REMINDERS_ALARM_GRACE_MINUTES": "0.5",
    }
    before, pings = recorder.count(), len(week.pings)
    wanted = expected_digests(app, day) if day != WEEK[2] else {}
    with run_workers(env, folder):
        if wanted:
            settle(recorder, before + len(wanted), app, folder, timeout=120)
        wait_for(lambda: len(week.pings) >= pings + 2, 60, f"{day} to be judged")
        if week.pings[-1] == "/fail":
            wait_for(lambda: recorder.count() > before, 30, "the operator to be told")
    with recorder.lock:
        sent = [parsed(content) for _, content in recorder.messages[before:]]
    got = sorted((m["To"].addresses[0].addr_spec, str(m["Subject"]).strip()) for m in sent)
    if wanted:
        assert got == sorted((a, subject_line(d)) for a, d in wanted.items()), day
    return got


def press(browser: Browser, base: str, link: str, button: str, note: str = "") -> None:
    page = new_page(browser, base)
    page.goto(base + urlsplit(link).path)
    if note:
        page.get_by_label(re.compile("Progress note|What was done")).fill(note)
    page.get_by_role("button", name=button).click()
    done = {"Acknowledge": "Acknowledged", "Mark complete": "Marked complete"}[button]
    expect(page.get_by_role("heading", name=re.compile(f"^{done}"))).to_be_visible()
    page.context.close()


def open_keys(app: App, day: date) -> set[str]:
    """The items open in any digest that went on `day`."""
    with app.sessions() as session:
        rows = session.scalars(select(Delivery).where(Delivery.period == day))
        return {i.key for r in rows for i in Digest.from_json(r.payload).items}


def test_the_first_week(app: App, week: Monitor, browser: Browser, redis_url: str,
                        smtp: tuple[Recorder, int], tmp_path: Path) -> None:  # fmt: skip
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    run_import(app, seed("002"), plan)  # the plan the partnership already has, and its own
    monday, tuesday, wednesday, thursday, friday = WEEK

    sent = morning(app, monday, week, smtp, tmp_path, redis_url)
    assert NURSE in {to for to, _ in sent}
    links = digest_links(app, NURSE)
    acknowledge = next(u for u in links if "/acknowledge/" in u)
    complete = [u for u in links if "/complete/" in u][1]
    clock(app, at(monday, 12, 0))
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        press(browser, base, acknowledge, "Acknowledge", "Audit booked for January.")
        press(browser, base, complete, "Mark complete")
    with app.sessions() as session:
        acts = [(e.kind, e.by, e.on) for e in session.scalars(select(ObligationEvent))]
        completed_key = session.scalar(select(LinkUse.obligation_key).where(
            LinkUse.purpose == "complete"))  # fmt: skip
    assert acts == [("acknowledged", NURSE, monday), ("completed", NURSE, monday)]

    morning(app, tuesday, week, smtp, tmp_path, redis_url)
    assert completed_key not in open_keys(app, tuesday)
    before = record_of(app)
    clock(app, at(tuesday, 18, 0))
    new_version(app, DIRECTORY, directory(frozenset({"DCS an alias"})))
    assert app.follow_change()
    assert record_of(app) == before  # the alias changed whom items are with, nothing else

    app.engine.dispose()
    with app.engine.begin() as connection:
        connection.execute(text("ALTER TABLE obligations RENAME TO obligations_away"))
    told = morning(app, wednesday, week, smtp, tmp_path, redis_url)
    assert told == [(OPERATOR, "Reminders: the digests for Wednesday 9 December 2026 did not "
                                "all go out")]  # fmt: skip
    with app.engine.begin() as connection:
        connection.execute(text("ALTER TABLE obligations_away RENAME TO obligations"))

    thursday_sent = morning(app, thursday, week, smtp, tmp_path, redis_url)
    assert OPERATOR not in {to for to, _ in thursday_sent}  # told once
    assert completed_key not in open_keys(app, thursday)
    morning(app, friday, week, smtp, tmp_path, redis_url)
    assert week.after() == ["start", "success"] * 2 + ["start", "fail"] + ["start", "success"] * 2
    assert record_of(app) == before  # nothing the week did rewrote an item's record
