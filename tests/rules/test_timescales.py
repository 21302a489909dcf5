"""Timescale units in the engine: the same working day, hours on working days' clocks, calendar
days; and today's ladders, written in any unit that means the same, decide the same."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.test_escalation import CAL, acks_and_completions, days_around, ladders, targets
from worker.rules.engine import Event, Obligation, decide, stages_ahead, timeline
from worker.rules.ladder import Ladder, LadderStage, Unit

DAY = timedelta(days=1)
BASE = Ladder(
    "Due soon",
    (2,),
    ("named_contact",),
    (
        LadderStage(1, "Practitioner", 1, ("named_contact",)),
        LadderStage(2, "Line manager", 1, ("line_manager",)),
        LadderStage(3, "Senior manager", 5, ("senior_safeguarding_lead",)),
    ),
    0,
)


def with_stage(number: int, amount: int, unit: Unit) -> Ladder:
    stages = tuple(replace(s, enters_after=amount, unit=unit) if s.number == number else s
                   for s in BASE.stages)  # fmt: skip
    return replace(BASE, stages=stages)


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def test_the_same_working_day_enters_with_the_stage_before() -> None:
    ladder = with_stage(2, 0, "working_days")
    ob = Obligation("cap-1", date(2017, 2, 1))  # a Wednesday
    thursday = on_day = date(2017, 2, 2)
    assert decide(ob, ladder, CAL, thursday).stage == 2
    steps = [s for s in timeline(ob, ladder, CAL, thursday, thursday) if s.kind == "stage"]
    assert [(s.stage, s.reason) for s in steps] == [
        (1, "entered stage 1 Practitioner: 1 working day after the target date 2017-02-01"),
        (2, "entered stage 2 Line manager: the same working day as stage 1"),
    ]
    assert decide(ob, ladder, CAL, on_day).tell == ("named_contact", "line_manager")


def test_hours_count_from_the_stage_before_within_the_day() -> None:
    ladder = with_stage(3, 36, "hours")
    ob = Obligation("cap-1", date(2017, 2, 1))  # stage 2 on Friday 3 February
    friday, monday = date(2017, 2, 3), date(2017, 2, 6)
    assert decide(ob, ladder, CAL, at(friday)).next_change_at == at(monday, 12)
    assert decide(ob, ladder, CAL, at(monday, 11, 59)).stage == 2
    entered = decide(ob, ladder, CAL, at(monday, 12))
    assert (entered.stage, entered.entered_at) == (3, at(monday, 12))
    assert entered.reminder_today
    [step] = [s for s in timeline(ob, ladder, CAL, monday, at(monday, 13)) if s.kind == "stage"]
    assert step.reason == (
        "entered stage 3 Senior manager at 12:00: 36 hours after stage 2 on 2017-02-03"
    )
    assert not timeline(ob, ladder, CAL, monday, at(monday, 11))  # not yet, at 11:00


def test_hours_stop_over_a_weekend_and_a_bank_holiday() -> None:
    """48 hours from Friday 12:00 before the Easter Monday bank holiday: Wednesday 12:00."""
    ladder = replace(BASE, stages=(*BASE.stages[:2],
                                   LadderStage(3, "Senior manager", 12, ("la_contact",), "hours"),
                                   LadderStage(4, "Partnership", 48, ("business_manager",),
                                               "hours")))  # fmt: skip
    ob = Obligation("cap-1", date(2017, 4, 11))  # stage 2 on Thursday 13 April
    thursday, friday = date(2017, 4, 13), date(2017, 4, 14)  # Good Friday is a bank holiday
    assert decide(ob, ladder, CAL, at(thursday, 12)).stage == 3
    later = decide(ob, ladder, CAL, at(thursday, 12))
    assert later.next_change_at == at(date(2017, 4, 19), 12)  # Thu 12 h, Tue 24 h, Wed 12 h
    assert decide(ob, ladder, CAL, friday).stage == 3


def test_stage_one_in_hours_counts_from_the_end_of_the_target_date() -> None:
    ladder = with_stage(1, 30, "hours")
    ob = Obligation("cap-1", date(2017, 2, 3))  # a Friday
    assert decide(ob, ladder, CAL, at(date(2017, 2, 6), 23)).stage == 0
    assert decide(ob, ladder, CAL, at(date(2017, 2, 7), 6)).entered_at == at(date(2017, 2, 7), 6)


def test_calendar_days_count_the_weekend() -> None:
    ladder = with_stage(2, 1, "calendar_days")
    ob = Obligation("cap-1", date(2017, 2, 2))  # stage 1 on Friday 3 February
    saturday = date(2017, 2, 4)
    assert decide(ob, ladder, CAL, saturday).stage == 2
    assert decide(ob, ladder, CAL, saturday).entered_at == at(saturday)


# ---------------------------------------------------------------------------------------------
# Today's ladders decide the same, whatever the unit that says the same

PROPERTY = settings(max_examples=40, deadline=None)


def in_hours(ladder: Ladder) -> Ladder:
    """Every stage after the first in hours: 24 to a working day (stage 1 counts from the end
    of the target date, so its days stay days)."""
    return replace(ladder, stages=tuple(
        s if s.number == 1 else replace(s, enters_after=24 * s.enters_after, unit="hours")
        for s in ladder.stages))  # fmt: skip


@PROPERTY
@given(ladders, targets.flatmap(lambda t: st.tuples(st.just(t), acks_and_completions(t))))
def test_working_days_written_as_hours_decide_the_same(
    ladder: Ladder, case: tuple[date, tuple[object, ...]]
) -> None:
    target, events = case
    ob = Obligation("p", target, events=events)  # type: ignore[arg-type]
    hours = in_hours(ladder)
    for day in days_around(target):
        now, then = decide(ob, hours, CAL, day), decide(ob, ladder, CAL, day)
        assert replace(now, ladder_to_copy=None) == replace(then, ladder_to_copy=None), day
    first, last = target - 30 * DAY, target + 89 * DAY
    steps = [(s.on, s.kind, s.stage) for s in timeline(ob, hours, CAL, first, last)]
    assert steps == [(s.on, s.kind, s.stage) for s in timeline(ob, ladder, CAL, first, last)]


@PROPERTY
@given(ladders, targets, st.integers(min_value=-30, max_value=60))
def test_a_moment_within_a_day_of_day_ladders_decides_as_the_day(
    ladder: Ladder, target: date, offset: int
) -> None:
    """A ladder of whole days changes only at midnight: any moment of a day decides as the day."""
    ob = Obligation("p", target)
    day = target + offset * DAY
    assert decide(ob, ladder, CAL, at(day, 9, 30)) == decide(ob, ladder, CAL, day)
    days = [day + DAY * i for i in range(1, 20)]
    assert stages_ahead(ob, ladder, CAL, at(day, 9), days) == stages_ahead(ob, ladder, CAL, day,
                                                                           days)  # fmt: skip


def test_a_paused_item_decided_at_a_moment_says_its_pause() -> None:
    ladder = replace(BASE, acknowledgement_pause=3)
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 6), "acknowledged"),))
    assert decide(ob, ladder, CAL, at(date(2017, 2, 7), 10)).paused_until == date(2017, 2, 8)
