"""A stage in hours, on both databases: the rules check takes it, the daily run enters it at its
moment, the next tick tells its people at once (not the next morning), `escalation explain`
says why, and the next morning's digest still carries it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select

from tests.conftest import new_version, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.versions import RULES
from worker.db import transaction
from worker.delivery.tick import run_tick
from worker.mail.digest import KIND, Digest
from worker.models import Delivery, Obligation, StageChange
from worker.obligations import keep_in_step

LONDON = ZoneInfo("Europe/London")
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.yaml"
HOURS = SHIPPED.read_text(encoding="utf-8").replace(
    "    enters_after: 5\n    tell: [line_manager]", "    enters_after: {hours: 14}\n"
    "    tell: [line_manager]")  # fmt: skip


def utc(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), LONDON).astimezone(UTC)


def tick(app: App, day: date, hour: int, minute: int = 0) -> list[int]:
    with freeze_time(utc(day, hour, minute)):
        return run_tick(app, app.now(), lambda _: None)


def chosen(app: App) -> tuple[str, date]:
    """An action's item and the working day after its target: stage 1 that day, stage 2 at
    14:00 under the rules with hours."""
    with transaction(app.sessions) as session:
        keep_in_step(session, app.rules(), app.timezone, app.today())  # the items, unassessed
    with app.sessions() as session:
        dated = Obligation.action_id.is_not(None) & Obligation.target_date.is_not(None)
        row = session.scalars(select(Obligation).where(dated)
                              .order_by(Obligation.target_date.desc())).first()  # fmt: skip
        assert row is not None
        assert row.target_date is not None
        return row.key, app.rules().calendar().next_working_day(row.target_date)


def notices(app: App) -> list[Delivery]:
    with app.sessions() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind != KIND)))


def test_a_stage_in_hours_is_told_at_the_next_tick(app: App, tmp_path: Path) -> None:
    rules = tmp_path / "escalation.yaml"
    rules.write_text(HOURS, encoding="utf-8")
    checked = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert checked.exit_code == 0, checked.output
    [imported] = run_import(app, seed("002"))
    assert imported.error is None, imported.error
    new_version(app, RULES, HOURS)
    key, day = chosen(app)
    tick(app, day, 8, 1)  # the morning's digests, the item at stage 1
    with app.sessions() as session:
        assert session.scalar(select(Obligation.stage).where(Obligation.key == key)) == 1
    assert tick(app, day, 13, 59) == [] or not notices(app)
    tick(app, day, 14, 0)
    told = notices(app)
    assert told, "nobody was told at 14:00"
    items = [i for n in told for i in Digest.from_json(n.payload).items if i.key == key]
    assert items
    assert {i.stage for i in items} == {2}
    assert all(n.period == day and n.kind.startswith("now-") for n in told)
    tick(app, day, 14, 1)
    assert len(notices(app)) == len(told)  # told once
    with app.sessions() as session:
        change = session.scalar(select(StageChange).join(StageChange.obligation)
                                .where(Obligation.key == key, StageChange.to_stage == 2))  # fmt: skip
        assert change is not None
        assert "entered stage 2 Line manager at 14:00: 14 hours after stage 1" in change.reason
        assert "stage 1 Practitioner" not in change.reason  # recorded this morning already
    ref = key_ref(app, key)
    with freeze_time(utc(day, 15)):
        explained = CliRunner().invoke(main, ["escalation", "explain", *ref])
    assert "entered stage 2 Line manager at 14:00" in explained.output, explained.output
    assert "stage 2 Line manager: 14 hours after stage 1" in explained.output
    following = app.rules().calendar().next_working_day(day)
    tick(app, following, 8, 1)
    with app.sessions() as session:
        mornings = (Delivery.kind == KIND) & (Delivery.period == following)
        morning = session.scalars(select(Delivery).where(mornings))
        carried = [i for d in morning for i in Digest.from_json(d.payload).items if i.key == key]
        assert carried
        assert {i.stage for i in carried} == {2}
        down = StageChange.to_stage < StageChange.from_stage
        assert session.scalar(select(func.count()).select_from(StageChange).where(down)) == 0


def key_ref(app: App, key: str) -> list[str]:
    """The ref and plan `escalation explain` finds the item by."""
    with app.sessions() as session:
        row = session.scalar(select(Obligation).where(Obligation.key == key))
        assert row is not None
        assert row.action is not None
        return [row.action.ref, "--plan", row.action.plan.title]
