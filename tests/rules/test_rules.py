"""The escalation rules file: the shipped default loads, broken files say what is wrong."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from worker.rules.ladder import ROLE_NAMES, ROLES, Ladder, LadderStage, load_rules
from worker.yaml_files import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.yaml"
BROKEN = Path(__file__).resolve().parents[1] / "data" / "rules"


def test_shipped_rules_load() -> None:
    rules = load_rules(SHIPPED, known_groups={"schools"})
    assert rules.due_soon.working_days_before == [10, 2]
    assert [s.enters_after.amount for s in rules.stages] == [1, 5, 5, 5]
    assert [s.name for s in rules.stages][:2] == ["Practitioner", "Line manager"]
    assert rules.acknowledgement_pause == 10
    assert rules.ongoing_review_weeks == 13
    assert rules.closure_days == []
    assert rules.audiences == {"A Senior Member of staff": "schools", "All Staff": "schools"}


def test_roles_are_cumulative() -> None:
    rules = load_rules(SHIPPED)
    assert rules.roles_for(-1) == ()
    assert rules.roles_for(0) == ("named_contact",)
    assert rules.roles_for(1) == ("named_contact",)
    assert rules.roles_for(2) == ("named_contact", "line_manager")
    assert rules.roles_for(3) == (
        "named_contact",
        "line_manager",
        "senior_safeguarding_lead",
        "la_contact",
    )
    assert set(rules.roles_for(4)) == set(ROLES)


def test_ladder_snapshot() -> None:
    ladder = load_rules(SHIPPED).ladder()
    assert ladder.due_soon_days == (10, 2)
    assert ladder.top == 4
    assert ladder.stages[1] == LadderStage(2, "Line manager", 5, ("line_manager",))
    assert ladder.acknowledgement_pause == 10
    assert [ladder.stage_name(k) for k in (-1, 0, 1)] == ["Not yet due", "Due soon", "Practitioner"]


def test_ladder_json_round_trip() -> None:
    ladder = load_rules(SHIPPED).ladder()
    text = ladder.to_json()
    assert '"enters_after":5' in text
    assert Ladder.from_json(text) == ladder
    assert Ladder.from_json(text.encode()) == ladder


def test_due_soon_days_are_sorted_largest_first(tmp_path: Path) -> None:
    path = tmp_path / "escalation.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text.replace("[10, 2]", "[2, 10]"), encoding="utf-8")
    assert load_rules(path).ladder().due_soon_days == (10, 2)


def test_closure_days_are_dates(tmp_path: Path) -> None:
    path = tmp_path / "escalation.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text.replace("closure_days: []", "closure_days: [2017-12-27]"), "utf-8")
    assert load_rules(path).closure_days == [date(2017, 12, 27)]


def test_groups_are_only_checked_when_known_groups_are_given() -> None:
    assert load_rules(BROKEN / "unknown_group.yaml").audiences["All Staff"] == "colleges"


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        (
            "unknown_role.yaml",
            [
                "stages[2].tell[0]: unknown role 'boss' (known: named_contact, line_manager, "
                "senior_safeguarding_lead, la_contact, business_manager, independent_chair)"
            ],
        ),
        (
            "negative_days.yaml",
            [
                "due_soon.working_days_before[0]: must be at least 1, got 0",
                "stages[1].enters_after: must be at least 0, got -3",
            ],
        ),
        ("missing_days.yaml", ["stages[1].enters_after: missing"]),
        ("out_of_order.yaml", ["stages: out of order: stage 3 follows stage 1"]),
        (
            "unknown_group.yaml",
            ["audiences['All Staff']: unknown group 'colleges' (known: schools)"],
        ),
        ("empty.yaml", ["the file is empty; it should hold the escalation rules"]),
        ("comments_only.yaml", ["the file is empty; it should hold the escalation rules"]),
        (
            "not_a_mapping.yaml",
            ["expected keys such as due_soon and stages at the top level, got a list"],
        ),
        (
            "unknown_key.yaml",
            [
                "stages[1].enter_after: unknown key (known: stage, name, enters_after, tell, "
                "deadlines)",
                "acknowledgment_pause: unknown key (known: due_soon, stages, "
                "acknowledgement_pause, acknowledgement_limit_per_stage, ongoing_review_weeks, "
                "recommendation_action_days, closure_days, audiences, digests, retention)",
            ],
        ),
        (
            "bad_acknowledgement_limit.yaml",
            ["acknowledgement_limit_per_stage: must be at least 0, got -1"],
        ),
        (
            "fractional_acknowledgement_limit.yaml",
            ["acknowledgement_limit_per_stage: must be a whole number, got 1.5"],
        ),
        (
            "wrong_types.yaml",
            [
                "due_soon.working_days_before: must be a list, such as [a, b]",
                "due_soon.tell: must be a list, such as [a, b]",
                "stages[0].enters_after: must be a whole number, got 'one' (working days; or one "
                "unit: {hours: 48}, {calendar_days: 1} or {working_days: 2}; or on_request)",
                "closure_days[0]: must be a date written like 2017-12-27, got '27/12/2017'",
            ],
        ),
    ],
)
def test_broken_files_say_what_is_wrong(name: str, problems: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(BROKEN / name, known_groups={"schools"})
    assert caught.value.problems == problems
    assert caught.value.path == BROKEN / name
    assert str(caught.value).splitlines() == [f"{BROKEN / name}: {p}" for p in problems]


def test_yaml_syntax_errors_give_the_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(BROKEN / "syntax_error.yaml")
    [problem] = caught.value.problems
    assert problem.startswith("line 5, column 5: not valid YAML")
    assert "syntax_error.yaml" in str(caught.value)


def test_a_missing_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_rules(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "  - stage: 1\n",
            "  - stage: 2\n",
            "stages: the first stage must be stage 1, got stage 2",
        ),
        ("tell: [line_manager]", "tell: []", "stages[1].tell: must list at least one"),
        ("name: Line manager", "name: ''", "stages[1].name: must not be empty"),
        ("acknowledgement_pause: 10", "acknowledgement_pause: -1", "must be at least 0, got -1"),
        ("enters_after: 5\n", "enters_after: true\n", "must be a whole number, got True"),
    ],
)
def test_edits_to_the_shipped_file(tmp_path: Path, old: str, new: str, problem: str) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "escalation.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert [p for p in caught.value.problems if problem in p], caught.value.problems


def test_every_role_has_a_name_people_say() -> None:
    assert tuple(ROLE_NAMES) == ROLES
