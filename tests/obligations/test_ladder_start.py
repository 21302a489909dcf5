"""A plan the partnership already had, imported with its ladder starting today: nothing above
stage 0 on the import day, stage 1 (or the stage chosen) the next morning at most, the target
kept as written, and no step of its timeline dated before the import. As dated, the same
plan's steps before the import say they were worked out, never sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from tests.conftest import seed
from tests.support.workers import expected_digests
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.models import Obligation, StageChange
from worker.obligations import bring_up_to_date, explain

IMPORT_DAY, NEXT_DAY = date(2026, 12, 7), date(2026, 12, 8)  # Monday, Tuesday


def moment(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def at_import(app: App) -> Iterator[App]:
    with freeze_time(moment(IMPORT_DAY, 10), ignore=["_pytest"]):  # pytest's own timings
        yield app


def imported(*options: str) -> str:
    result = CliRunner().invoke(main, ["import", *options, str(seed("002"))])
    assert result.exit_code == 0, result.output
    return result.output


def rows(app: App) -> list[Obligation]:
    """The items already past their target dates when the plan came in."""
    with app.sessions() as session:
        found = session.scalars(select(Obligation).order_by(Obligation.id))
        return [row for row in found if row.target_date and row.target_date < IMPORT_DAY]


def next_morning(app: App) -> dict[str, Digest]:
    """Each person's digest on the next working morning."""
    with freeze_time(moment(NEXT_DAY, 8)):
        with transaction(app.sessions) as session:
            bring_up_to_date(session, app.rules(), app.timezone, NEXT_DAY)
        return {a: d for a, d in expected_digests(app, NEXT_DAY).items() if d.items}


def top_stages(digests: dict[str, Digest]) -> list[int]:
    return [max(item.stage for item in d.items) for d in digests.values()]


def text_of(digest: Digest) -> str:
    message = build_digest_message(digest, sender="reminders@example.org",
                                   message_id="<m@example.org>", list_id="<l.example.org>",
                                   sent_at=moment(NEXT_DAY, 8))  # fmt: skip
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_an_old_plan_started_today_climbs_from_the_import_day(at_import: App) -> None:
    app = at_import
    imported("--start", "today")
    found = rows(app)
    assert len(found) >= 10
    with app.sessions() as session:
        assert max(session.scalars(select(Obligation.stage))) == 0
    with app.sessions() as session:
        row = session.scalars(select(Obligation).where(Obligation.id == found[0].id)).one()
        assert row.events[0].kind == "ladder_started"
        why = explain(row, app.rules(), IMPORT_DAY, app.timezone)
        changes = session.scalars(select(StageChange)).all()
    assert why.target == found[0].target_date  # as written
    assert why.started_on == IMPORT_DAY
    assert why.steps
    assert all(step.on >= IMPORT_DAY for step in why.steps)
    assert why.steps[0].reason.startswith(f"imported overdue (target {why.target}); ladder started")
    assert all(change.on >= IMPORT_DAY for change in changes)
    digests = next_morning(app)
    assert digests
    assert max(top_stages(digests)) == 1
    item = next(i for d in digests.values() for i in d.items if i.started_on)
    assert (item.started_on, item.working_days_overdue) == (IMPORT_DAY.isoformat(), 1)
    text = text_of(next(d for d in digests.values() if item in d.items))
    assert "Ladder started: 7 December 2026: imported overdue" in text
    assert "Overdue: 1 working day since the ladder started" in text


def test_a_later_stage_can_be_chosen_for_the_first_step(at_import: App) -> None:
    app = at_import
    imported("--start", "today", "--at-stage", "3")
    assert max(r.stage for r in rows(app)) == 0
    assert max(top_stages(next_morning(app))) == 3


def test_as_dated_the_steps_before_the_import_are_marked_worked_out(at_import: App) -> None:
    app = at_import
    imported()  # as dated: a plan entered as it happens
    top = app.rules().ladder().top
    found = rows(app)
    assert {r.stage for r in found} == {top}
    with app.sessions() as session:
        row = session.get(Obligation, found[0].id)
        assert row is not None
        why = explain(row, app.rules(), IMPORT_DAY, app.timezone)
    before = [s for s in why.steps if s.on < IMPORT_DAY]
    assert before
    assert all(why.worked_out(s) for s in before)
    assert all(
        "worked out at import, not sent" in line for line in why.lines()[1 : len(before) + 1]
    )


@pytest.mark.parametrize(("options", "says"), [
    (["--at-stage", "2"], "only with --start today"),
    (["--start", "today", "--at-stage", "99"], "the ladder's stages go up to"),
])  # fmt: skip
def test_a_stage_the_ladder_cannot_start_at_is_refused(
    at_import: App, options: list[str], says: str
) -> None:
    result = CliRunner().invoke(main, ["import", *options, str(seed("002"))])
    assert result.exit_code == 2
    assert says in result.output
    assert rows(at_import) == []


OLD_PLAN = (
    "Composite Action Plan 2017 of the review group\n"
    "Theme,Ref,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,Audit the referrals,Health,31 March 2017\n"
    "Professional curiosity,1.2,Review the strategy meetings,Childrens Service,29 Sept 2017\n"
)


def test_the_dry_run_says_who_would_hear_what_the_morning_after(
    at_import: App, tmp_path: Path
) -> None:
    plan = tmp_path / "old.csv"
    plan.write_text(OLD_PLAN, encoding="utf-8")
    options = ["import", "--dry-run", "--start", "today", str(plan), str(seed("000"))]
    result = CliRunner().invoke(main, options)
    assert result.exit_code == 0, result.output
    after = result.output[result.output.index("The morning after: Tuesday 8 December 2026") :]
    assert "at stage 1 " in after
    assert "at stage 2" not in after
    assert "Designated Nurse <designated.nurse@example.org>: 1 item(s), up to stage 1" in after
    assert "“Childrens Service” matches no agency in the directory (1 item). It might be " \
        "Children's Services." in " ".join(after.split())  # fmt: skip
    assert "MI 3/17: its LA contact Daniel Halls is in no directory entry." in after
    with at_import.sessions() as session:
        assert session.scalars(select(Obligation)).first() is None  # nothing stored
