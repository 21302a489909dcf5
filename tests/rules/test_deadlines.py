"""Deadlines within a stage: due some time after the stage began, met when someone says so
before they are due, missed otherwise; reminders without a change of stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from tests.conftest import new_version, seed
from tests.rules.test_escalation import CAL
from tests.rules.test_timescales import BASE, at
from tests.rules.test_within_the_day import chosen, key_ref, tick, utc
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.versions import RULES
from worker.db import transaction
from worker.mail.digest import KIND, Digest
from worker.models import Delivery, Obligation, StageChange
from worker.obligations import keep_in_step
from worker.rules.engine import Event, decide, timeline
from worker.rules.engine import Obligation as Ob
from worker.rules.ladder import LadderDeadline, rules_from
from worker.yaml_files import ConfigError, round_trip

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.yaml"
WITH_DEADLINES = SHIPPED.read_text(encoding="utf-8").replace(
    "    enters_after: 1\n    tell: [named_contact]\n",
    "    enters_after: 1\n    tell: [named_contact]\n"
    "    deadlines:\n      - {name: Agreement reached, within: 2}\n"
    "      - {name: Meeting convened, within: {working_days: 4}}\n", 1)  # fmt: skip
STAGE_TWO = replace(BASE.stages[1], deadlines=(LadderDeadline("Agreement reached", 2),
                                               LadderDeadline("Letter sent", 36, "hours")))  # fmt: skip
LADDER = replace(BASE, stages=(BASE.stages[0], STAGE_TWO, BASE.stages[2]))
TARGET = date(2017, 2, 1)  # stage 2 on Friday 3 February, stage 3 on Friday 10


def test_deadlines_pass_without_a_change_of_stage() -> None:
    ob = Ob("cap-1", TARGET)
    friday = decide(ob, LADDER, CAL, at(date(2017, 2, 3), 9))
    assert [(n, s) for n, _, s in friday.deadlines] == [("Agreement reached", "open"),
                                                         ("Letter sent", "open")]  # fmt: skip
    assert friday.next_look == date(2017, 2, 6)  # the letter, Monday 12:00
    tuesday = decide(ob, LADDER, CAL, date(2017, 2, 7))
    assert tuesday.stage == 2
    assert [(n, s) for n, _, s in tuesday.deadlines] == [("Agreement reached", "missed"),
                                                          ("Letter sent", "missed")]  # fmt: skip
    steps = [(s.on, s.reason) for s in timeline(ob, LADDER, CAL, TARGET, date(2017, 2, 8))
             if s.kind == "deadline"]  # fmt: skip
    assert steps == [
        (date(2017, 2, 6), "deadline missed at stage 2 Line manager: Letter sent, due 36 hours "
                           "after the stage began on 2017-02-03 (2017-02-06 12:00)"),
        (date(2017, 2, 7), "deadline missed at stage 2 Line manager: Agreement reached, due 2 "
                           "working days after the stage began on 2017-02-03 (2017-02-07)"),
    ]  # fmt: skip


def test_a_deadline_said_to_be_met_in_time_is_met() -> None:
    said = Event(date(2017, 2, 6), "deadline_met", note="Agreement reached",
                 at=at(date(2017, 2, 6), 10))  # fmt: skip
    ob = Ob("cap-1", TARGET, events=(said,))
    states = dict((n, s) for n, _, s in decide(ob, LADDER, CAL, date(2017, 2, 8)).deadlines)
    assert states == {"Agreement reached": "met", "Letter sent": "missed"}
    [step] = [s for s in timeline(ob, LADDER, CAL, TARGET, date(2017, 2, 8))
              if s.kind == "deadline_met"]  # fmt: skip
    assert step.reason == "deadline met at stage 2 Line manager: Agreement reached"


@pytest.mark.parametrize(
    ("deadlines", "problem"),
    [
        ("[{name: A, within: 0}]", "stages[1].deadlines[0].within: a deadline needs a time"),
        ("[{name: A, within: 2}, {name: A, within: 3}]",
         "stages[1].deadlines: each deadline of a stage needs its own name (A more than once)"),
        ("[{name: A, within: {weeks: 1}}]", "stages[1].deadlines[0].within: name one unit"),
    ],
)  # fmt: skip
def test_deadlines_are_checked_by_name(deadlines: str, problem: str) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "    tell: [line_manager]\n", f"    tell: [line_manager]\n    deadlines: {deadlines}\n"
    )
    with pytest.raises(ConfigError) as refused:
        rules_from(Path("x"), round_trip().load(text))
    assert [p for p in refused.value.problems if p.startswith(problem)], refused.value.problems


def test_a_missed_deadline_is_recorded_once_and_told(app: App) -> None:
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        keep_in_step(session, app.rules(), app.timezone, app.today())
    new_version(app, RULES, WITH_DEADLINES)
    key, day = chosen(app)  # stage 1 on `day`
    cal = app.rules().calendar()
    ref = key_ref(app, key)
    tick(app, day, 8, 1)
    second = cal.add(day, 1)
    tick(app, second, 9)
    with freeze_time(utc(second, 10)):
        met = ["met", *ref, "Meeting convened", "--by", "x@example.org"]
        said = CliRunner().invoke(main, met)
        unknown = CliRunner().invoke(main, [*met[:2], "Lunch", "--by", "x@example.org"])
    assert said.exit_code == 0, said.output
    assert "its stage has no deadline 'Lunch' (its deadlines: Agreement reached, Meeting" in (
        unknown.output)  # fmt: skip
    third, fourth = cal.add(day, 2), cal.add(day, 4)
    for when in (third, third, fourth, fourth):
        tick(app, when, 8, 1)
    with app.sessions() as session:
        row = session.scalar(select(Obligation).where(Obligation.key == key))
        assert row is not None
        changes = session.scalars(select(StageChange).where(StageChange.obligation_id == row.id,
                                  StageChange.from_stage == StageChange.to_stage)).all()  # fmt: skip
        assert [c.reason.split(":")[1].split(",")[0].strip() for c in changes] == [
            "Agreement reached"]  # fmt: skip
        morning = session.scalars(select(Delivery).where(Delivery.kind == KIND,
                                                         Delivery.period == third))  # fmt: skip
        carried = [i for d in morning for i in Digest.from_json(d.payload).items if i.key == key]
        assert carried
    explained = CliRunner().invoke(main, ["escalation", "explain", *ref, "--on", str(fourth)])
    assert "deadline missed at stage 1 Practitioner: Agreement reached" in explained.output
    assert "deadline met at stage 1 Practitioner: Meeting convened" in explained.output
    assert "(deadlines: Agreement reached 2 working days after it began" in explained.output
