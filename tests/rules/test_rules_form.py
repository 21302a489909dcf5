"""The rules form: fields from the rules text and back, comments kept, messages placed."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from worker.config.versions import parse_rules
from worker.rules.form import by_field, fields_of, proposed_text
from worker.yaml_files import ConfigError

SHIPPED = (ROOT / "config" / "escalation.yaml").read_text(encoding="utf-8")
WHERE = Path("rules version 2")
GROUPS = ["schools"]


def form(changes: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """The shipped rules as the browser sends them, with `changes`."""
    fields = fields_of(SHIPPED)
    sent: dict[str, list[str]] = {
        "due_soon.name": [fields.due_soon_name],
        "due_soon.working_days_before": [fields.due_soon_days],
        "due_soon.tell": list(fields.due_soon_tell),
        "closure_days": list(fields.closure_days),
        "digests.send_at": [fields.send_at],
        "digests.daily_from_stage": [fields.daily_from_stage],
        "audience": [name for name, _ in fields.audiences],
        "group": [group for _, group in fields.audiences],
        **{key: [value] for key, value in fields.numbers.items()},
    }
    for i, stage in enumerate(fields.stages):
        sent[f"stages[{i}].name"] = [stage.name]
        sent[f"stages[{i}].enters_after"] = [stage.enters_after]
        sent[f"stages[{i}].unit"] = [stage.unit]
        sent[f"stages[{i}].tell"] = list(stage.tell)
    return sent | (changes or {})


def test_an_unchanged_form_gives_the_same_rules_and_keeps_every_comment() -> None:
    text = proposed_text(SHIPPED, form())
    assert parse_rules(text, WHERE, GROUPS) == parse_rules(SHIPPED, WHERE, GROUPS)
    comments = [line.strip() for line in SHIPPED.splitlines() if line.strip().startswith("#")]
    assert [c for c in comments if c not in text] == []


def test_the_send_time_stays_a_time() -> None:
    """Unquoted, 08:30 would be read by YAML 1.1 as a number of minutes."""
    rules = parse_rules(proposed_text(SHIPPED, form({"digests.send_at": ["08:30"]})), WHERE,
                        GROUPS)  # fmt: skip
    assert rules.digests.send_at == time(8, 30)


def test_stages_removed_and_added_are_numbered_in_order() -> None:
    changes = {
        "stages[1].remove": ["yes"],
        "stages[4].name": ["Chief officers"],
        "stages[4].enters_after": ["10"],
        "stages[4].tell": ["independent_chair"],
    }
    rules = parse_rules(proposed_text(SHIPPED, form(changes)), WHERE, GROUPS)
    assert [(s.stage, s.name, s.enters_after.amount) for s in rules.stages] == [
        (1, "Practitioner", 1),
        (2, "Senior manager / designated safeguarding lead", 5),
        (3, "Partnership", 5),
        (4, "Chief officers", 10),
    ]


def test_lists_dates_and_audiences_from_their_fields() -> None:
    changes = {
        "due_soon.working_days_before": ["15, 5 ,1"],
        "closure_days": ["2026-12-29", "", "2026-12-30"],  # one a box, an empty one left
        "audience": ["All Staff", "", "Governors"],
        "group": ["schools", "schools", "schools"],
    }
    rules = parse_rules(proposed_text(SHIPPED, form(changes)), WHERE, GROUPS)
    assert rules.due_soon.working_days_before == [15, 5, 1]
    assert rules.closure_days == [date(2026, 12, 29), date(2026, 12, 30)]
    assert rules.audiences == {"All Staff": "schools", "Governors": "schools"}


def test_each_message_is_placed_beside_its_field() -> None:
    changes = {
        "stages[0].enters_after": ["0"],
        "closure_days": ["2026-12-29", "next friday"],
        "audience": ["All Staff"],
        "group": ["academies"],
        "due_soon.tell": [],
    }
    text = proposed_text(SHIPPED, form(changes))
    with pytest.raises(ConfigError) as refused:
        parse_rules(text, WHERE, GROUPS)
    placed, general = by_field(refused.value.problems, fields_of(text))
    assert placed == {
        "stages[0].enters_after": [
            "stage 1 starts after the target date, so it cannot be the "
            "same working day: write 1 (the next working day), or some "
            "hours"
        ],
        "closure_days": ["must be a date written like 2017-12-27, got 'next friday'"],
        "group-0": ["unknown group 'academies' (known: schools)"],
        "due_soon.tell": ["must list at least one"],
    }
    assert general == []


def test_an_optional_number_the_text_leaves_out_stays_out() -> None:
    without = SHIPPED.replace("acknowledgement_limit_per_stage: 1\n", "")
    assert without != SHIPPED
    fields = fields_of(without)
    assert fields.numbers["acknowledgement_limit_per_stage"] == ""
    sent = form() | {"acknowledgement_limit_per_stage": [""]}
    rules = parse_rules(proposed_text(without, sent), WHERE, GROUPS)
    assert rules.acknowledgement_limit_per_stage == 1  # the default, as the file had it


@pytest.mark.parametrize(
    ("amount", "unit", "written", "said"),
    [
        ("48", "hours", "{hours: 48}", "48 hours"),
        ("1", "calendar_days", "{calendar_days: 1}", "1 calendar day"),
        ("0", "working_days", "enters_after: 0\n", "the same working day"),
        ("2", "working_days", "enters_after: 2\n", "2 working days"),
        ("", "on_request", "enters_after: on_request\n", "on request"),
    ],
)
def test_a_stage_in_hours_days_or_the_same_day(amount: str, unit: str, written: str,
                                               said: str) -> None:  # fmt: skip
    changes = {"stages[1].enters_after": [amount], "stages[1].unit": [unit]}
    text = proposed_text(SHIPPED, form(changes))
    assert written in text
    rules = parse_rules(text, WHERE, GROUPS)
    assert str(rules.stages[1].enters_after) == said
    shown = fields_of(text).stages[1]
    assert (shown.enters_after, shown.unit) == (amount, unit)


def test_a_timescale_mistake_lands_beside_its_stage() -> None:
    text = proposed_text(SHIPPED, form({"stages[2].enters_after": ["0"],
                                        "stages[2].unit": ["hours"]}))  # fmt: skip
    with pytest.raises(ConfigError) as refused:
        parse_rules(text, WHERE, GROUPS)
    placed, general = by_field(refused.value.problems, fields_of(text))
    assert placed == {"stages[2].enters_after": ["hours: must be at least 1, got 0"]}
    assert general == []


def test_deadlines_are_shown_and_kept_as_written() -> None:
    with_deadlines = SHIPPED.replace(
        "    tell: [line_manager]\n",
        "    tell: [line_manager]\n    deadlines:\n      - {name: Agreement reached, within: 2}\n"
        "      - {name: Letter sent, within: {hours: 48}}\n")  # fmt: skip
    fields = fields_of(with_deadlines)
    assert fields.stages[1].deadlines == ("Agreement reached: 2 working days",
                                          "Letter sent: 48 hours")  # fmt: skip
    sent = form() | {"stages[0].name": ["First"]}
    text = proposed_text(with_deadlines, sent)
    assert "- {name: Agreement reached, within: 2}" in text
    assert len(parse_rules(text, WHERE, GROUPS).stages[1].deadlines) == 2
