"""Warnings: what may be a mistake in rules that are valid, each with its key path."""

from __future__ import annotations

from datetime import date, time

from tests.conftest import ROOT
from worker.directory.entries import AgencyEntry, Directory, load_directory
from worker.rules.ladder import Digests, load_rules
from worker.rules.warnings import rule_warnings

DIRECTORY = load_directory(ROOT / "config" / "directory.yaml")
RULES = load_rules(ROOT / "config" / "escalation.yaml", DIRECTORY.groups)


def without(directory: Directory, agency: str, role: str) -> Directory:
    """`directory` where `agency` has no contact with `role`."""

    def edited(entry: AgencyEntry) -> AgencyEntry:
        if entry.name != agency:
            return entry
        kept = [c for c in entry.contacts if c.role != role]
        return entry.model_copy(update={"contacts": kept})

    return directory.model_copy(update={"agencies": [edited(a) for a in directory.agencies]})


def test_the_shipped_rules_and_directory_warn_of_nothing() -> None:
    assert rule_warnings(RULES, DIRECTORY) == []


def test_a_stage_that_tells_nobody_at_an_agency() -> None:
    found = rule_warnings(RULES, without(DIRECTORY, "Health", "line_manager"))
    assert found == ["stages[1].tell: tells nobody at Health, which has no line_manager"]


def test_a_role_no_agency_has() -> None:
    directory = DIRECTORY
    for agency in [a.name for a in DIRECTORY.agencies]:
        directory = without(directory, agency, "line_manager")
    found = rule_warnings(RULES, directory)
    assert "stages[1].tell: no agency has a line_manager, so that role tells nobody" in found
    # a stage that also tells partnership-wide roles still reaches someone
    assert not [w for w in found if w.startswith("stages[3]")]


def test_closure_days_on_a_weekend_or_bank_holiday() -> None:
    rules = RULES.model_copy(
        update={"closure_days": [date(2026, 12, 25), date(2026, 12, 24), date(2026, 12, 27)]}
    )
    assert rule_warnings(rules, DIRECTORY) == [
        "closure_days[0]: 2026-12-25 is a weekend day or bank holiday already",
        "closure_days[2]: 2026-12-27 is a weekend day or bank holiday already",
    ]


def test_a_send_time_outside_working_hours_and_a_daily_stage_never_reached() -> None:
    digests = Digests(send_at=time(2, 30), daily_from_stage=9)
    found = rule_warnings(RULES.model_copy(update={"digests": digests}), DIRECTORY)
    assert found[0].startswith("digests.send_at: 02:30 is outside working hours")
    assert found[1].startswith("digests.daily_from_stage: 9 is above the last stage (4)")
