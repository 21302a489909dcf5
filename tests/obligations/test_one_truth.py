"""One truth on every screen: an import, an event, a rules or a directory change is assessed
at once, with the daily run's own records, so the next run neither repeats nor contradicts it."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select, text

from tests.conftest import seed
from tests.console.test_console_imports import confirm, upload
from tests.support.console import MANAGER, NURSE, csrf, health_item, post, sign_in
from tests.support.helpers import run_import
from tests.support.services import wait_for
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.delivery.planning import is_news, plan
from worker.mail.digest import Digest
from worker.models import Delivery, Obligation, StageChange
from worker.obligations import bring_up_to_date, record, record_event, take_turn

STAGE_ROW = re.compile(r'<tr><td>([^<]+)</td><td class="num">(\d+)</td></tr>')
SEEDS = [seed("000"), seed("001"), seed("002"), seed("003")]


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1), result.output  # 1: a seed refused, the rest imported
    return result.output


def status_counts() -> Counter[str]:
    """Open items per stage, as `escalation status` reports them."""
    records = json.loads(cli("escalation", "status", "--json"))
    return Counter(r["stage_name"] for r in records if r["problem"] is None)


def overview_counts(client: httpx.Client) -> Counter[str]:
    """Open items per stage, as the console overview shows them."""
    page = client.get("/console/")
    assert page.status_code == 200, page.text
    section = page.text.split('id="stages"', 1)[1].split("</table>", 1)[0]
    return Counter({name: int(n) for name, n in STAGE_ROW.findall(section) if int(n)})


def stage_changes(app: App) -> list[tuple[str, date, int, int]]:
    with app.sessions() as session:
        query = select(Obligation.key, StageChange.on, StageChange.from_stage,
                       StageChange.to_stage).join(StageChange.obligation)  # fmt: skip
        return sorted(tuple(r) for r in session.execute(query))  # type: ignore[misc]


def test_seeds_imported_on_the_command_line_show_on_the_overview_at_once(app: App) -> None:
    cli("import", *map(str, SEEDS))
    expected = status_counts()
    assert sum(expected.values()) > 20  # the seed plans' actions, long overdue
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        assert overview_counts(client) == expected
        overdue = client.get("/console/items?status=overdue").text
        assert "No items" not in overdue
        assert "Nothing is overdue" not in client.get("/console/").text


def test_the_next_morning_neither_repeats_nor_contradicts_what_an_import_recorded(
    app: App,
) -> None:
    cli("import", *map(str, SEEDS))
    written = stage_changes(app)
    assert written, "the import recorded nothing"
    with transaction(app.sessions) as session:  # the same day's run, as the beat makes it
        assert record(session, app.rules(), app.today()) == []
    assert stage_changes(app) == written
    tomorrow = app.today() + timedelta(days=1)
    with transaction(app.sessions) as session:
        moved = record(session, app.rules(), tomorrow)
    assert all(m.on == tomorrow and m.from_stage != m.to_stage for m in moved)
    assert len(stage_changes(app)) == len(written) + len(moved)


def test_an_import_in_the_console_shows_on_the_overview_at_once(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        assert sum(overview_counts(client).values()) == 0
        confirm(client, upload(client, ("plan.txt", SEEDS[3].read_bytes())))
        shown = overview_counts(client)
    assert shown == status_counts()
    assert sum(shown.values()) > 0


def test_an_event_in_the_console_moves_the_item_at_once(app: App) -> None:
    cli("import", *map(str, SEEDS))
    item = health_item(app)
    with serving(app) as client:
        sign_in(client, app, NURSE)
        page = f"/console/items/{item}"
        done = post(client, f"{page}/complete", page, note="done and reviewed")
        assert done.status_code == 303, done.text
    with app.sessions() as session:
        row = session.get(Obligation, item)
        assert row is not None
        assert row.resolved_on == app.today()
        assert not row.pending


def test_rules_reapplied_reassess_at_once(app: App, tmp_path: Path) -> None:
    cli("import", *map(str, SEEDS))
    before = status_counts()
    rules = (Path(app.settings.config_dir) / "escalation.yaml").read_text(encoding="utf-8")
    slower = tmp_path / "escalation.yaml"  # stage 2 a working decade after stage 1
    slower.write_text(rules.replace("enters_after: 5", "enters_after: 2500", 1), encoding="utf-8")
    cli("rules", "load", str(slower), "--by", MANAGER, "--reason", "a slower ladder")
    cli("escalation", "reapply", "--by", MANAGER)
    after = status_counts()
    assert after != before
    assert after["Practitioner"] > before.get("Practitioner", 0)
    with app.sessions() as session:
        query = select(Obligation.stage, func.count()).where(Obligation.resolved_on.is_(None))
        stored: dict[int, int] = dict(session.execute(query.group_by(Obligation.stage)).all())
    ladder = app.rules().ladder()
    assert Counter({ladder.stage_name(s): n for s, n in stored.items()}) == after


def test_a_change_assessed_after_the_days_digests_is_news_the_next_morning(app: App) -> None:
    """Planned at 08:00; at noon an item moves (an event, assessed at once). The next
    period tells its reader, once; it was not in the digest already sent."""
    cli("import", *map(str, SEEDS))
    day = first_working_day(app)
    with freeze_time(datetime(day.year, day.month, day.day, 8, 5, tzinfo=UTC)):
        planned = plan_period(app, day)
    assert planned, "nobody was due a digest on the first day"
    reader, item = moved_at_noon(app, day)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    with freeze_time(noon), transaction(app.sessions) as session:
        row = session.get(Obligation, item)
        assert row is not None
        record_event(row, "completed", day, reader, "done at noon")
        session.flush()
        record(session, app.rules(), day)
    nxt = app.rules().calendar().next_working_day(day)
    with freeze_time(datetime(nxt.year, nxt.month, nxt.day, 8, 5, tzinfo=UTC)):
        plan_period(app, nxt)
    told = digests_telling(app, reader, item)
    assert [d.period for d in told] == [nxt.isoformat()]


def test_assessments_at_the_same_moment_write_each_change_once(app: App) -> None:
    run_import(app, *SEEDS)  # stored, not yet assessed
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def assess() -> None:
        try:
            start.wait(10)
            with transaction(app.sessions) as session:
                bring_up_to_date(session, app.rules(), app.timezone, app.today())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=assess) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    written = stage_changes(app)
    assert written
    assert len(written) == len(set(written))


def first_working_day(app: App) -> date:
    calendar = app.rules().calendar()
    today = app.today()
    return today if calendar.is_working_day(today) else calendar.next_working_day(today)


def plan_period(app: App, period: date) -> list[int]:
    with transaction(app.sessions) as session:
        return plan(session, app.rules(), app.timezone, period, "NSCB")


def moved_at_noon(app: App, day: date) -> tuple[str, int]:
    """A reader of the day's digests, and an open item of theirs to complete."""
    with app.sessions() as session:
        for row in session.scalars(select(Delivery).where(Delivery.period == day)):
            digest = Digest.from_json(row.payload)
            for line in digest.items:
                key = session.scalar(select(Obligation.id).where(Obligation.key == line.key))
                if key is not None:
                    return row.recipient, key
    raise AssertionError("no digest carried an item")


def digests_telling(app: App, reader: str, item: int) -> list[Digest]:
    """`reader`'s digests that report `item` as resolved."""
    with app.sessions() as session:
        key = session.scalar(select(Obligation.key).where(Obligation.id == item))
        rows = session.scalars(select(Delivery).where(Delivery.recipient == reader))
        digests = [Digest.from_json(r.payload) for r in rows]
    return [d for d in digests if any(i.key == key for i in d.resolved)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # row locks: PostgreSQL's
def test_an_event_waits_for_an_assessment_before_it_touches_a_row(app: App) -> None:
    """A console event and the daily run at the same moment: the event takes its turn before
    it touches its item, so the run neither writes over the event (the item left open) nor
    waits in a circle for the event's lock (a deadlock)."""
    cli("import", *map(str, SEEDS))
    item = health_item(app)
    with transaction(app.sessions) as session:  # the daily run will write this row
        row = session.get(Obligation, item)
        assert row is not None
        row.pending = True
    with serving(app) as client:
        sign_in(client, app, NURSE)
        page = f"/console/items/{item}"
        token = csrf(client.get(page))
        answers: list[httpx.Response] = []
        with app.sessions() as run, run.begin():
            take_turn(run)  # the daily run has begun
            poster = threading.Thread(target=lambda: answers.append(client.post(
                f"{page}/complete", data={"csrftoken": token, "note": "done"})))  # fmt: skip
            poster.start()
            wait_for(lambda: waiting_for_a_turn(app), 30, "the event to wait for its turn")
            record(run, app.rules(), app.today())  # writes the item's row, then commits
        poster.join(30)
    assert [a.status_code for a in answers] == [303]
    with app.sessions() as session:
        done = session.get(Obligation, item)
        assert done is not None
        assert done.resolved_on == app.today()


def waiting_for_a_turn(app: App) -> bool:
    with app.engine.connect() as connection:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return bool(connection.scalar(text(query)))


def test_news_is_what_a_reader_has_not_heard_since_their_last_digest() -> None:
    day, mark = date(2026, 12, 3), 50
    assert is_news((day + timedelta(days=1), 1), day, mark)  # a later day
    assert is_news((day, mark + 1), day, mark)  # that day, after its digest was planned
    assert not is_news((day, mark), day, mark)  # in that digest
    assert not is_news((day - timedelta(days=1), mark + 9), day, mark)  # a backdated run
    assert not is_news((day, mark + 1), day, None)  # a plan that kept no mark: by day only


def test_an_import_is_kept_when_what_follows_it_cannot_be_written(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "feeds-is-a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("REMINDERS_FEEDS_DIR", str(blocked))
    result = CliRunner().invoke(main, ["import", str(SEEDS[3])])
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    assert sum(status_counts().values()) > 0
    with app.sessions() as session:  # assessed before the feed failed
        assert session.scalar(select(func.count(StageChange.id)))
