"""Stages entered on request, and escalation asked for ahead of a stage's time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from tests.rules.test_escalation import CAL
from tests.rules.test_timescales import BASE, at
from worker.rules.engine import Event, Obligation, decide, timeline
from worker.rules.ladder import LadderStage, rules_from
from worker.yaml_files import round_trip

ASKED = replace(BASE, stages=(*BASE.stages[:2],
                              LadderStage(3, "Senior manager", 0, ("senior_safeguarding_lead",),
                                          "on_request")))  # fmt: skip
TARGET = date(2017, 2, 1)  # stage 1 Thursday 2, stage 2 Friday 3 February


def escalated(when: datetime, stage: int, note: str = "no agreement (by bm@example.org)") -> Event:
    return Event(when.date(), "escalated", note=note, stage=stage, at=when)


def test_a_stage_on_request_waits_without_a_time_limit() -> None:
    ob = Obligation("cap-1", TARGET)
    later = decide(ob, ASKED, CAL, date(2017, 6, 1))
    assert (later.stage, later.next_stage, later.next_change) == (2, 3, None)


def test_asked_for_it_is_entered_at_that_moment_and_said_why() -> None:
    monday = date(2017, 2, 6)
    ob = Obligation("cap-1", TARGET, events=(escalated(at(monday, 15, 20), 3),))
    assert decide(ob, ASKED, CAL, at(monday, 15, 19)).stage == 2
    now = decide(ob, ASKED, CAL, at(monday, 15, 21))
    assert (now.stage, now.entered_at) == (3, at(monday, 15, 20))
    [step] = [s for s in timeline(ob, ASKED, CAL, monday, monday) if s.kind == "stage"]
    assert step.reason == ("entered stage 3 Senior manager at 15:20: escalated on request to "
                           "stage 3: no agreement (by bm@example.org)")  # fmt: skip


def test_an_indicative_timescale_is_overtaken_and_the_rest_count_from_there() -> None:
    """Stage 2 asked for on Thursday at 09:00, a day early: stage 3 is 5 working days after."""
    thursday = date(2017, 2, 2)
    ob = Obligation("cap-1", TARGET, events=(escalated(at(thursday, 9), 2),))
    now = decide(ob, BASE, CAL, at(thursday, 10))
    assert now.stage == 2
    assert now.next_change == date(2017, 2, 9)
    steps = [(s.stage, s.on) for s in timeline(ob, BASE, CAL, thursday, thursday)
             if s.kind == "stage"]  # fmt: skip
    assert steps == [(1, thursday), (2, thursday)]


def test_asking_for_a_stage_already_passed_changes_nothing() -> None:
    ob = Obligation("cap-1", TARGET, events=(escalated(at(date(2017, 2, 10), 9), 2),))
    plain = Obligation("cap-1", TARGET)
    for day in (date(2017, 2, 3), date(2017, 2, 10), date(2017, 3, 1)):
        assert decide(ob, BASE, CAL, day).stage == decide(plain, BASE, CAL, day).stage


def test_on_request_in_the_rules_file() -> None:
    shipped = (Path(__file__).resolve().parents[2] / "config" / "escalation.yaml").read_text()
    text = shipped.replace(
        "    enters_after: 5\n    tell: [senior_safeguarding_lead",
        "    enters_after: on_request\n    tell: [senior_safeguarding_lead",
    )
    rules = rules_from(Path("x"), round_trip().load(text))
    assert str(rules.stages[2].enters_after) == "on request"
    assert rules.ladder().stages[2].unit == "on_request"
