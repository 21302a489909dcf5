"""The escalation engine, with dates injected: checked examples, then properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.rules.engine import Decision, Event, Obligation, decide, stages_ahead, timeline
from worker.rules.ladder import Ladder, LadderStage, load_rules
from worker.workdays import WorkingCalendar

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.yaml"
RULES = load_rules(SHIPPED)
LADDER = RULES.ladder()
CAL = WorkingCalendar(RULES.closure_days)
DAY = timedelta(days=1)


def on(ob: Obligation, today: date, ladder: Ladder = LADDER) -> Decision:
    return decide(ob, ladder, CAL, today)


def stage_steps(ob: Obligation, ladder: Ladder = LADDER) -> list[tuple[date, int]]:
    assert ob.target is not None
    steps = timeline(ob, ladder, CAL, ob.target - 30 * DAY, ob.target + 90 * DAY)
    return [(s.on, s.stage) for s in steps if s.kind == "stage"]


# ---------------------------------------------------------------------------------------------
# Checked examples: default rules, nothing completed or acknowledged

EXAMPLES = [
    (date(2017, 2, 1), [date(2017, 2, 2), date(2017, 2, 9), date(2017, 2, 16), date(2017, 2, 23)]),
    (
        date(2017, 4, 10),
        [date(2017, 4, 11), date(2017, 4, 20), date(2017, 4, 27), date(2017, 5, 5)],
    ),
    (
        date(2016, 12, 22),
        [date(2016, 12, 23), date(2017, 1, 4), date(2017, 1, 11), date(2017, 1, 18)],
    ),
    (
        date(2017, 3, 14),
        [date(2017, 3, 15), date(2017, 3, 22), date(2017, 3, 29), date(2017, 4, 5)],
    ),
    # 2022-09-19: the Queen's state funeral, a one-off bank holiday.
    (
        date(2022, 9, 12),
        [date(2022, 9, 13), date(2022, 9, 21), date(2022, 9, 28), date(2022, 10, 5)],
    ),
    # 2023-05-08: the King's coronation, a one-off bank holiday.
    (date(2023, 5, 5), [date(2023, 5, 9), date(2023, 5, 16), date(2023, 5, 23), date(2023, 5, 31)]),
]


@pytest.mark.parametrize(("target", "entries"), EXAMPLES)
def test_stages_change_exactly_on_the_checked_dates(target: date, entries: list[date]) -> None:
    ob = Obligation("cap-1", target)
    for stage, entered in enumerate(entries, start=1):
        before, after = on(ob, entered - DAY), on(ob, entered)
        assert (before.stage, after.stage) == (stage - 1, stage), entered
        assert before.next_stage == stage
        assert before.next_change == entered
        assert after.reminder_today
        assert after.stage_name == LADDER.stage_name(stage)
    assert on(ob, entries[-1]).next_stage is None
    assert on(ob, entries[-1]).next_change is None


@pytest.mark.parametrize(("target", "entries"), EXAMPLES)
def test_timeline_gives_the_checked_dates(target: date, entries: list[date]) -> None:
    ob = Obligation("cap-1", target)
    due_soon_start = CAL.add(target, -10)
    expected = [(due_soon_start, 0)] + [(d, k) for k, d in enumerate(entries, start=1)]
    assert stage_steps(ob) == expected


def test_due_soon_reminders() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1))
    assert on(ob, date(2017, 1, 17)).stage == -1
    assert on(ob, date(2017, 1, 17)).next_change == date(2017, 1, 18)
    assert on(ob, date(2017, 1, 17)).tell == ()
    reminders = {
        day: on(ob, day).reminder_today
        for day in (date(2017, 1, 18) + DAY * i for i in range(15))
        if on(ob, day).stage == 0
    }
    assert [day for day, sent in reminders.items() if sent] == [
        date(2017, 1, 18),
        date(2017, 1, 30),
    ]
    assert on(ob, date(2017, 1, 18)).stage_name == "Due soon"
    assert on(ob, date(2017, 1, 18)).tell == ("named_contact",)


def test_timeline_reasons() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1))
    steps = timeline(ob, LADDER, CAL, date(2017, 1, 1), date(2017, 3, 31))
    assert [(s.on, s.kind, s.reason) for s in steps] == [
        (
            date(2017, 1, 18),
            "stage",
            "entered stage 0 Due soon: 10 working days before the target date 2017-02-01",
        ),
        (
            date(2017, 1, 30),
            "due_soon",
            "due-soon reminder: 2 working days before the target date 2017-02-01",
        ),
        (
            date(2017, 2, 2),
            "stage",
            "entered stage 1 Practitioner: 1 working day after the target date 2017-02-01",
        ),
        (
            date(2017, 2, 9),
            "stage",
            "entered stage 2 Line manager: 5 working days after stage 1 on 2017-02-02",
        ),
        (
            date(2017, 2, 16),
            "stage",
            "entered stage 3 Senior manager / designated safeguarding lead: "
            "5 working days after stage 2 on 2017-02-09",
        ),
        (
            date(2017, 2, 23),
            "stage",
            "entered stage 4 Partnership: 5 working days after stage 3 on 2017-02-16",
        ),
    ]


def test_overdue_days_and_cumulative_tell() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1))
    assert on(ob, date(2017, 2, 1)).working_days_overdue == 0
    assert on(ob, date(2017, 2, 2)).working_days_overdue == 1
    third = on(ob, date(2017, 2, 16))
    assert third.working_days_overdue == 11
    assert third.tell == ("named_contact", "line_manager", "senior_safeguarding_lead", "la_contact")
    assert on(ob, date(2017, 2, 23)).tell[-2:] == ("business_manager", "independent_chair")


# ---------------------------------------------------------------------------------------------
# No target, unassigned


def test_no_target_stays_at_minus_one() -> None:
    ob = Obligation("ongoing", None)
    for today in (date(2017, 1, 1), date(2030, 1, 1)):
        decision = on(ob, today)
        assert (decision.stage, decision.stage_name) == (-1, "No target date")
        assert decision.next_change is None
        assert decision.tell == ()
        assert not decision.reminder_today


@pytest.mark.parametrize("target", [None, date(2017, 6, 1), date(2017, 2, 1)])
def test_unassigned_goes_straight_to_the_business_manager(target: date | None) -> None:
    decision = on(Obligation("who", target, unassigned=True), date(2017, 3, 1))
    assert decision.tell == ("business_manager",)
    assert decision.flagged_unassigned


# ---------------------------------------------------------------------------------------------
# Acknowledgements


def test_acknowledgement_pauses_and_resumes_at_the_stage_reached() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 6), "acknowledged"),))
    paused = on(ob, date(2017, 2, 10))
    assert (paused.stage, paused.paused_until) == (1, date(2017, 2, 17))
    assert paused.next_change == date(2017, 2, 23)
    assert not on(ob, date(2017, 2, 9)).reminder_today  # stage 2 would have been due
    resumed = on(ob, date(2017, 2, 20))
    assert (resumed.stage, resumed.paused_until) == (1, None)
    assert on(ob, date(2017, 2, 23)).stage == 2
    kinds = [(s.on, s.kind) for s in timeline(ob, LADDER, CAL, date(2017, 2, 2), date(2017, 2, 23))]
    assert kinds == [
        (date(2017, 2, 2), "stage"),
        (date(2017, 2, 6), "acknowledged"),
        (date(2017, 2, 20), "resumed"),
        (date(2017, 2, 23), "stage"),
    ]


def test_acknowledgement_reasons() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 6), "acknowledged"),))
    reasons = [s.reason for s in timeline(ob, LADDER, CAL, date(2017, 2, 6), date(2017, 2, 23))]
    assert reasons == [
        "acknowledged: escalation paused for 10 working days, until 2017-02-17",
        "pause over: escalation resumes at stage 1 Practitioner; "
        "stage 2 Line manager on 2017-02-23",
        "entered stage 2 Line manager: 5 working days after stage 1 on 2017-02-02 "
        "(not counting 10 paused working days)",
    ]


def test_a_stage_due_on_the_acknowledgement_day_is_still_entered() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 9), "acknowledged"),))
    decision = on(ob, date(2017, 2, 9))
    assert (decision.stage, decision.paused_until) == (2, date(2017, 2, 22))
    assert decision.next_change == date(2017, 3, 1)


def test_acknowledging_when_due_soon_delays_stage_one() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 1, 30), "acknowledged"),))
    assert on(ob, date(2017, 1, 30)).paused_until == date(2017, 2, 10)
    assert not on(ob, date(2017, 1, 30)).reminder_today
    assert on(ob, date(2017, 2, 10)).stage == 0
    assert on(ob, date(2017, 2, 13)).stage == 1


def test_a_later_acknowledgement_starts_a_new_pause() -> None:
    two = replace(LADDER, acknowledgement_limit_per_stage=2)
    events = (Event(date(2017, 2, 6), "acknowledged"), Event(date(2017, 2, 13), "acknowledged"))
    ob = Obligation("cap-1", date(2017, 2, 1), events=events)
    assert on(ob, date(2017, 2, 13), two).paused_until == date(2017, 2, 24)
    assert on(ob, date(2017, 2, 13), two).next_change == date(2017, 3, 2)
    after = Obligation(
        "cap-1", date(2017, 2, 1), events=(*events[:1], Event(date(2017, 3, 1), "acknowledged"))
    )
    assert on(after, date(2017, 3, 1), two).paused_until == date(2017, 3, 14)


def test_a_second_acknowledgement_at_the_same_stage_is_only_a_note() -> None:
    """Default limit 1: the second acknowledgement at stage 1 neither pauses nor extends."""
    events = (Event(date(2017, 2, 6), "acknowledged"), Event(date(2017, 2, 13), "acknowledged"))
    ob = Obligation("cap-1", date(2017, 2, 1), events=events)
    assert LADDER.acknowledgement_limit_per_stage == 1
    first_only = Obligation("cap-1", date(2017, 2, 1), events=events[:1])
    assert on(ob, date(2017, 2, 13)) == on(first_only, date(2017, 2, 13))
    assert on(ob, date(2017, 2, 13)).paused_until == date(2017, 2, 17)
    steps = timeline(ob, LADDER, CAL, date(2017, 2, 13), date(2017, 2, 13))
    assert [s.reason for s in steps if s.kind == "acknowledged"] == [
        "acknowledged, kept as a progress note: the limit of 1 pausing acknowledgement at "
        "stage 1 Practitioner is reached, so escalation goes on"
    ]


def test_a_new_stage_allows_a_new_pausing_acknowledgement() -> None:
    first = Event(date(2017, 2, 6), "acknowledged")  # stage 1; paused to 17 February
    ob = Obligation("cap-1", date(2017, 2, 1), events=(first,))
    second_stage = on(ob, date(2017, 3, 1))
    assert (second_stage.stage, second_stage.paused_until) == (2, None)
    again = Obligation(
        "cap-1", date(2017, 2, 1), events=(first, Event(date(2017, 3, 1), "acknowledged"))
    )
    assert on(again, date(2017, 3, 1)).paused_until == date(2017, 3, 14)


@settings(max_examples=60, deadline=None)
@given(gap=st.integers(min_value=1, max_value=15))
def test_acknowledging_again_and_again_never_holds_the_ladder_off(gap: int) -> None:
    """An acknowledgement every `gap` working days for two years: the top is still reached."""
    start, target = date(2017, 2, 2), date(2017, 2, 1)
    acks = tuple(Event(CAL.add(start, k * gap), "acknowledged") for k in range(500 // gap))
    ob = Obligation("cap-1", target, events=acks)
    assert on(ob, date(2019, 2, 1)).stage == LADDER.top


def test_a_zero_pause_changes_nothing() -> None:
    ladder = replace(LADDER, acknowledgement_pause=0)
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 6), "acknowledged"),))
    assert on(ob, date(2017, 2, 9), ladder).stage == 2
    assert on(ob, date(2017, 2, 6), ladder).paused_until is None
    [step] = timeline(ob, ladder, CAL, date(2017, 2, 6), date(2017, 2, 6))
    assert step.reason.startswith("acknowledged: acknowledgements do not pause")


# ---------------------------------------------------------------------------------------------
# Completion, reopening, retargeting


def test_completion_keeps_the_stage_reached() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 10), "completed"),))
    assert not on(ob, date(2017, 2, 9)).resolved  # it has not happened yet
    for today in (date(2017, 2, 10), date(2017, 6, 1)):
        decision = on(ob, today)
        assert decision.resolved
        assert (decision.stage, decision.next_stage, decision.next_change) == (2, None, None)
        assert decision.tell == ("named_contact", "line_manager")
        assert decision.working_days_overdue == 7
        assert not decision.reminder_today


def test_completion_on_a_stage_day_counts_that_stage() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 16), "completed"),))
    assert on(ob, date(2017, 3, 1)).stage == 3
    steps = timeline(ob, LADDER, CAL, date(2017, 2, 16), date(2017, 3, 31))
    assert [s.kind for s in steps] == ["stage", "completed"]
    assert steps[1].reason.startswith("completed at stage 3 Senior manager")


def test_reopening_restarts_as_if_newly_due() -> None:
    events = (
        Event(date(2017, 2, 10), "completed"),
        Event(date(2017, 3, 14), "reopened", note="evidence not supplied"),
    )
    ob = Obligation("cap-1", date(2017, 2, 1), events=events)
    reopened = on(ob, date(2017, 3, 14))
    assert (reopened.resolved, reopened.stage, reopened.target) == (False, 0, date(2017, 3, 14))
    assert reopened.next_change == date(2017, 3, 15)
    assert [on(ob, d).stage for d in (date(2017, 3, 22), date(2017, 4, 5))] == [2, 4]
    [step] = timeline(ob, LADDER, CAL, date(2017, 3, 14), date(2017, 3, 14))
    assert step.kind == "reopened"
    assert "(evidence not supplied)" in step.reason


def test_reopening_something_not_completed_changes_nothing() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1), events=(Event(date(2017, 2, 10), "reopened"),))
    assert on(ob, date(2017, 2, 16)) == on(Obligation("cap-1", date(2017, 2, 1)), date(2017, 2, 16))


def test_retargeting_restarts_the_ladder() -> None:
    events = (
        Event(date(2017, 2, 6), "acknowledged"),
        Event(date(2017, 2, 17), "retargeted", new_target=date(2017, 3, 14)),
    )
    ob = Obligation("cap-1", date(2017, 2, 1), events=events)
    assert on(ob, date(2017, 2, 16)).stage == 1
    retargeted = on(ob, date(2017, 2, 17))
    assert (retargeted.stage, retargeted.target, retargeted.paused_until) == (
        -1,
        date(2017, 3, 14),
        None,
    )
    assert [(d, k) for d, k in stage_steps(ob) if d > date(2017, 2, 17)] == [
        (date(2017, 2, 28), 0),
        (date(2017, 3, 15), 1),
        (date(2017, 3, 22), 2),
        (date(2017, 3, 29), 3),
        (date(2017, 4, 5), 4),
    ]


def test_retargeting_a_completed_obligation_opens_it_again() -> None:
    events = (
        Event(date(2017, 2, 10), "completed"),
        Event(date(2017, 2, 20), "retargeted", new_target=date(2017, 2, 20)),
    )
    decision = on(Obligation("cap-1", date(2017, 2, 1), events=events), date(2017, 2, 21))
    assert (decision.resolved, decision.stage) == (False, 1)


IMPORT_DAY = date(2026, 12, 7)  # a Monday


def started(at_stage: int = 1, target: date = date(2017, 3, 31)) -> Obligation:
    """An action of an old plan, imported overdue with its ladder starting on the import day."""
    start = Event(IMPORT_DAY, "ladder_started", new_target=IMPORT_DAY, stage=at_stage)
    return Obligation("cap-old", target, events=(start,))


def test_a_ladder_started_at_import_enters_nothing_before_the_import_day() -> None:
    ob = started()
    first = on(ob, IMPORT_DAY)
    assert (first.stage, first.target, first.started_on) == (0, date(2017, 3, 31), IMPORT_DAY)
    assert first.working_days_overdue == 0
    assert (first.next_stage, first.next_change) == (1, date(2026, 12, 8))
    assert on(ob, date(2026, 12, 8)).stage == 1
    assert on(ob, date(2026, 12, 8)).working_days_overdue == 1
    steps = timeline(ob, LADDER, CAL, IMPORT_DAY, IMPORT_DAY + 30 * DAY)
    assert [(s.on, s.kind, s.stage) for s in steps][:2] == [
        (IMPORT_DAY, "ladder_started", 0), (date(2026, 12, 8), "stage", 1)]  # fmt: skip
    assert steps[0].reason.startswith(
        "imported overdue (target 2017-03-31); ladder started 2026-12-07")  # fmt: skip
    assert "after the day the ladder started 2026-12-07" in steps[1].reason
    assert all(s.on >= IMPORT_DAY for s in steps)


def test_a_ladder_started_at_a_later_stage_enters_it_at_the_first_step() -> None:
    ob = started(at_stage=3)
    assert on(ob, IMPORT_DAY).stage == 0
    assert on(ob, date(2026, 12, 8)).stage == 3
    following = on(ob, date(2026, 12, 8))
    assert following.next_stage == 4
    assert following.next_change == CAL.add(date(2026, 12, 8), LADDER.stages[3].enters_after)
    steps = timeline(ob, LADDER, CAL, IMPORT_DAY, date(2026, 12, 8))
    assert [s.kind for s in steps] == ["ladder_started", "stage"]
    assert "the first step of the ladder started on 2026-12-07 enters" in steps[1].reason


def test_a_retarget_after_the_start_follows_the_new_target() -> None:
    ob = started()
    moved = Event(date(2026, 12, 9), "retargeted", new_target=date(2027, 1, 29))
    decision = on(replace(ob, events=(*ob.events, moved)), date(2026, 12, 10))
    assert (decision.stage, decision.target, decision.started_on) == (
        -1, date(2027, 1, 29), None)  # fmt: skip


def test_events_must_carry_a_new_target_only_when_retargeted() -> None:
    with pytest.raises(ValueError, match="new_target"):
        Event(date(2017, 2, 1), "retargeted")
    with pytest.raises(ValueError, match="new_target"):
        Event(date(2017, 2, 1), "acknowledged", new_target=date(2017, 3, 1))
    with pytest.raises(ValueError, match="new_target"):
        Event(date(2017, 2, 1), "ladder_started")


# ---------------------------------------------------------------------------------------------
# Ladder snapshots and closure days


def test_ladder_to_copy_is_offered_once_stage_one_is_reached() -> None:
    ob = Obligation("cap-1", date(2017, 2, 1))
    assert on(ob, date(2017, 2, 1)).ladder_to_copy is None
    assert on(ob, date(2017, 2, 2)).ladder_to_copy == LADDER
    assert on(replace(ob, ladder=LADDER), date(2017, 2, 2)).ladder_to_copy is None


def test_a_copied_snapshot_is_honoured_after_the_rules_change() -> None:
    slower = tuple(replace(s, enters_after=10) if s.number > 1 else s for s in LADDER.stages)
    current = replace(LADDER, stages=slower)
    fresh = Obligation("new", date(2017, 2, 1))
    live = replace(fresh, ladder=Ladder.from_json(LADDER.to_json()))
    assert on(live, date(2017, 2, 9), current).stage == 2
    assert on(fresh, date(2017, 2, 9), current).stage == 1
    assert on(fresh, date(2017, 2, 9), current).next_change == date(2017, 2, 16)


def test_a_ladder_with_other_numbers() -> None:
    ladder = Ladder(
        due_soon_name="Coming up",
        due_soon_days=(3,),
        due_soon_tell=("la_contact",),
        stages=(LadderStage(1, "Chase", 2, ("named_contact",)), LadderStage(2, "Chair", 3, ())),
        acknowledgement_pause=5,
    )
    ob = Obligation("mi-3/17", date(2017, 2, 1))
    assert stage_steps(ob, ladder) == [
        (date(2017, 1, 27), 0),
        (date(2017, 2, 3), 1),
        (date(2017, 2, 8), 2),
    ]
    assert on(ob, date(2017, 2, 8), ladder).tell == ("la_contact", "named_contact")


def test_closure_days_from_the_rules_are_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "escalation.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text.replace("closure_days: []", "closure_days: [2017-02-02]"), "utf-8")
    rules = load_rules(path)
    cal = WorkingCalendar(rules.closure_days)
    ob = Obligation("cap-1", date(2017, 2, 1))
    assert decide(ob, rules.ladder(), cal, date(2017, 2, 2)).stage == 0
    assert decide(ob, rules.ladder(), cal, date(2017, 2, 3)).stage == 1
    assert decide(ob, rules.ladder(), cal, date(2017, 2, 10)).stage == 2


# ---------------------------------------------------------------------------------------------
# Properties

targets = st.dates(min_value=date(2016, 1, 1), max_value=date(2024, 12, 31))
offsets = st.integers(min_value=-20, max_value=60)
ladders = st.builds(
    lambda days, gaps, pause: Ladder(
        "Due soon",
        tuple(sorted(set(days), reverse=True)),
        ("named_contact",),
        tuple(LadderStage(k, f"Stage {k}", n, ("line_manager",)) for k, n in enumerate(gaps, 1)),
        pause,
    ),
    st.lists(st.integers(1, 15), min_size=1, max_size=3),
    st.lists(st.integers(1, 8), min_size=1, max_size=5),
    st.integers(0, 12),
)
PROPERTY = settings(max_examples=60, deadline=None)


def days_around(target: date) -> list[date]:
    return [target + DAY * i for i in range(-30, 90)]


def acks_and_completions(target: date) -> st.SearchStrategy[tuple[Event, ...]]:
    kinds = st.sampled_from(["acknowledged", "acknowledged", "completed"])
    events = st.builds(lambda n, kind: Event(target + DAY * n, kind), offsets, kinds)
    return st.lists(events, max_size=4).map(tuple)


@PROPERTY
@given(ladders, targets.flatmap(lambda t: st.tuples(st.just(t), acks_and_completions(t))))
def test_stages_never_go_backwards(ladder: Ladder, case: tuple[date, tuple[Event, ...]]) -> None:
    target, events = case
    ob = Obligation("p", target, events=events)
    stages = [on(ob, day, ladder).stage for day in days_around(target)]
    assert stages == sorted(stages)


@PROPERTY
@given(
    ladders,
    targets.flatmap(lambda t: st.tuples(st.just(t), acks_and_completions(t))),
    st.integers(min_value=-30, max_value=60),
)
def test_stages_ahead_are_what_each_day_would_decide(
    ladder: Ladder, case: tuple[date, tuple[Event, ...]], today: int
) -> None:
    """The preview's shortcut (the ladder worked out once) agrees with `decide`, day by day,
    for an item nothing more happens to after today."""
    target, events = case
    now = target + DAY * today
    ob = Obligation("p", target, events=tuple(e for e in events if e.on <= now))
    days = [now + DAY * i for i in range(1, 40)]
    assert stages_ahead(ob, ladder, CAL, now, days) == [on(ob, d, ladder).stage for d in days]


@PROPERTY
@given(ladders, targets, offsets)
def test_a_pause_never_loses_a_stage(ladder: Ladder, target: date, ack: int) -> None:
    acked_on = target + DAY * ack
    plain = Obligation("p", target)
    acked = replace(plain, events=(Event(acked_on, "acknowledged"),))
    reached = on(plain, acked_on - DAY, ladder).stage
    pause_end = on(acked, acked_on, ladder).paused_until or acked_on
    for day in days_around(target):
        stage = on(acked, day, ladder).stage
        assert stage <= on(plain, day, ladder).stage  # a pause only ever delays
        if day >= acked_on:
            assert stage >= reached
    assert on(acked, pause_end + DAY, ladder).stage >= on(acked, acked_on, ladder).stage


@PROPERTY
@given(ladders, targets, offsets, st.lists(offsets, max_size=3))
def test_completion_ends_the_obligation(
    ladder: Ladder, target: date, done: int, acks: list[int]
) -> None:
    completed_on = target + DAY * done
    events = (*(Event(target + DAY * n, "acknowledged") for n in acks),)
    ob = Obligation("p", target, events=(*events, Event(completed_on, "completed")))
    final = on(ob, completed_on, ladder)
    for day in (completed_on + DAY * i for i in range(0, 80, 3)):
        decision = on(ob, day, ladder)
        assert decision.resolved
        assert (decision.next_stage, decision.next_change, decision.paused_until) == (None,) * 3
        assert not decision.reminder_today
        assert (decision.stage, decision.tell) == (final.stage, final.tell)
    later = timeline(ob, ladder, CAL, completed_on + DAY, completed_on + 60 * DAY)
    assert later == []


@PROPERTY
@given(ladders, targets, st.integers(min_value=-5, max_value=60), offsets)
def test_a_retarget_is_a_fresh_start(ladder: Ladder, target: date, when: int, to: int) -> None:
    retargeted_on, new_target = target + DAY * when, target + DAY * to
    events = (
        Event(target - 5 * DAY, "acknowledged"),
        Event(retargeted_on, "retargeted", new_target=new_target),
    )
    ob = Obligation("p", target, events=events)
    fresh = Obligation("p", new_target)
    for day in (retargeted_on + DAY * i for i in range(0, 60, 2)):
        assert on(ob, day, ladder) == on(fresh, day, ladder)


@PROPERTY
@given(ladders, targets.flatmap(lambda t: st.tuples(st.just(t), acks_and_completions(t))))
def test_timeline_agrees_with_decide(ladder: Ladder, case: tuple[date, tuple[Event, ...]]) -> None:
    target, events = case
    ob = Obligation("p", target, events=events)
    days = days_around(target)
    steps = timeline(ob, ladder, CAL, days[0], days[-1])
    changed = [
        (day, on(ob, day, ladder).stage)
        for day in days
        if on(ob, day, ladder).stage != on(ob, day - DAY, ladder).stage
    ]
    assert [(s.on, s.stage) for s in steps if s.kind == "stage"] == changed


@settings(max_examples=200, deadline=None)
@given(
    target=st.dates(min_value=date(2000, 1, 1), max_value=date(2110, 12, 31)),
    offset=st.integers(min_value=-400, max_value=400),
)
def test_every_date_the_importers_accept_can_be_assessed(target: date, offset: int) -> None:
    """The importers accept 2000 to ten years after the document (worker/importers/
    placeholders); for any such target the calendar and the engine work out an answer."""
    ob = Obligation("cap-1", target, events=(Event(target, "acknowledged"),))
    today = target + offset * DAY
    decision = on(ob, today)
    assert decision.target == target
    assert timeline(ob, LADDER, CAL, today - 5 * DAY, today) is not None


def test_a_ladder_copied_before_the_limit_existed_keeps_every_pause() -> None:
    """Items already climbing keep the rules they started with: no limit for old copies."""
    stored = LADDER.to_json().replace(',"acknowledgement_limit_per_stage":1', "")
    assert "acknowledgement_limit_per_stage" not in stored
    old = Ladder.from_json(stored)
    assert old.acknowledgement_limit_per_stage is None
    events = (Event(date(2017, 2, 6), "acknowledged"), Event(date(2017, 2, 13), "acknowledged"))
    ob = Obligation("cap-1", date(2017, 2, 1), events=events, ladder=old)
    assert on(ob, date(2017, 2, 13)).paused_until == date(2017, 2, 24)


@PROPERTY
@given(ladders, targets, st.integers(1, 4), st.integers(0, 40))
def test_a_started_ladder_never_goes_backwards_nor_starts_early(
    ladder: Ladder, target: date, at_stage: int, after: int
) -> None:  # fmt: skip
    start = target + DAY * (30 + after)
    ob = Obligation("p", target, events=(
        Event(start, "ladder_started", new_target=start, stage=min(at_stage, ladder.top)),))  # fmt: skip
    days = [start + DAY * i for i in range(60)]
    stages = [on(ob, day, ladder).stage for day in days]
    assert stages == sorted(stages)
    assert stages[0] <= 0
    assert all(s.on >= start for s in timeline(ob, ladder, CAL, start, days[-1]))
    assert stages_ahead(ob, ladder, CAL, start, days[1:]) == stages[1:]
