"""Digest building, directly: who gets which items, in what order, and when a digest is due."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.conftest import ROOT
from worker.directory.recipients import Partnership, Person, Recipient
from worker.mail.digest import (
    Cadence,
    Digest,
    Inbox,
    Item,
    Undelivered,
    digest_for,
    gather,
    ordered,
)
from worker.models import Action, ActionStatus, Agency, Contact, Obligation, Plan, Role
from worker.obligations import Assessor
from worker.rules.ladder import load_rules

RULES = load_rules(ROOT / "config" / "escalation.yaml")
CHAIR = Person("Chair", "chair@example.org")
MANAGER = Person("Manager", "manager@example.org")


def item(
    ref: str, stage: int, overdue: int = 0, theme: str = "T", unassigned: bool = False
) -> Item:
    return Item(key=ref, ref=ref, source="CAP", text="Do it", theme=theme, owner="Health",
                target_date=None, stage=stage, stage_name=f"stage {stage}",
                working_days_overdue=overdue, progress="", why="named contact for Health",
                unassigned=unassigned)  # fmt: skip


def health() -> Agency:
    boss = Contact(name="Boss", email="boss@example.org", role=Role.LINE_MANAGER)
    named = Contact(name="Nurse", email="nurse@example.org", role=Role.NAMED_CONTACT,
                    line_manager=boss)  # fmt: skip
    lead = Contact(name="Director", email="director@example.org",
                   role=Role.SENIOR_SAFEGUARDING_LEAD)  # fmt: skip
    return Agency(id=1, name="Health", contacts=[boss, named, lead])


def action_row(ref: str, target: date, agency: Agency | None) -> Obligation:
    plan = Plan(title="CAP 2017")
    action = Action(ref=ref, theme="Professional curiosity", text=f"Action {ref}", progress="",
                    status=ActionStatus.OPEN, plan=plan)  # fmt: skip
    kind = "action" if agency else "unassigned"
    return Obligation(key=f"action:{ref}", kind=kind, target_date=target, action=action,
                      agency=agency, lead_name=None if agency else "Mystery Trust", stage=-1,
                      events=[])  # fmt: skip


def test_gather_gives_each_person_one_inbox_across_their_obligations() -> None:
    assessor = Assessor(RULES, Partnership(MANAGER, CHAIR), date(2017, 3, 1))
    agency = health()
    rows = [
        action_row("1.1", date(2017, 2, 14), agency),  # stage 3 from 1 March
        action_row("1.2", date(2017, 2, 24), agency),  # stage 1 from 27 February
        action_row("1.3", date(2017, 9, 1), agency),  # not yet due: nobody hears
        action_row("1.4", date(2017, 9, 1), None),  # unassigned: flagged to the manager now
    ]
    found = list(assessor.each(rows))
    inboxes = gather(found[:4], resolved=found[1:2])
    nurse = inboxes["nurse@example.org"]
    assert sorted(i.ref for i in nurse.items) == ["1.1", "1.2"]
    assert [i.ref for i in nurse.resolved] == ["1.2"]
    assert nurse.recipient.role == "named_contact"
    assert [i.ref for i in inboxes["manager@example.org"].items] == ["1.4"]
    assert inboxes["manager@example.org"].items[0].unassigned
    line_manager = inboxes["boss@example.org"].items  # told from stage 2: 1.1 only
    assert [(i.ref, i.why) for i in line_manager] == [
        ("1.1", "copied as line manager of Nurse (Health)")
    ]
    assert "chair@example.org" not in inboxes  # told from stage 4


def test_items_are_ordered_worst_first() -> None:
    items = [item("2.1", 1, 3), item("1.1", 3, 1), item("3.1", 3, 9), item("0.1", 1, 3, "A")]
    assert [i.ref for i in ordered(items)] == ["3.1", "1.1", "0.1", "2.1"]


@pytest.mark.parametrize(
    ("items", "resolved", "reminder", "last_sent", "news", "due"),
    [
        ([], [], False, None, False, False),  # nothing to say
        ([item("1.1", 1)], [], False, None, False, True),  # never sent: this week's due
        ([item("1.1", 1)], [], False, date(2017, 2, 27), False, False),  # had this week's
        ([item("1.1", 1)], [], False, date(2017, 2, 24), False, True),  # last week's only
        ([item("1.1", 1)], [], False, date(2017, 2, 27), True, True),  # news since
        ([item("1.1", 1)], [], True, date(2017, 2, 27), False, True),  # a reminder today
        ([item("1.1", 2)], [], False, date(2017, 2, 28), False, True),  # daily from stage 2
        ([item("1.1", 0, unassigned=True)], [], False, date(2017, 2, 28), False, True),
        ([], [item("1.1", 1)], False, date(2017, 2, 28), False, True),  # just resolved
    ],
)
def test_cadence(
    items: list[Item],
    resolved: list[Item],
    reminder: bool,
    last_sent: date | None,
    news: bool,
    due: bool,
) -> None:
    cadence = Cadence(daily_from_stage=2, week_start=date(2017, 2, 27))
    inbox = Inbox(Recipient("Nurse", "nurse@example.org", "named_contact", "named contact"),
                  items, resolved, reminder)  # fmt: skip
    assert cadence.due(inbox, last_sent, news) is due


def test_a_digest_survives_its_trip_through_the_ledger() -> None:
    inbox = Inbox(Recipient("Nurse", "nurse@example.org", "named_contact", "named contact"),
                  [item("1.1", 1), item("2.2", 3)], [item("3.3", 1)])  # fmt: skip
    failed = [Undelivered("gone@example.org", "2017-02-27", "550 no such user")]
    digest = digest_for(inbox, date(2017, 2, 28), "NSCP", failed)
    assert [i.ref for i in digest.items] == ["2.2", "1.1"]
    assert Digest.from_json(digest.to_json()) == digest
    older = {k: v for k, v in digest.to_json().items() if k != "attention"}
    assert Digest.from_json(older) == replace(digest, attention=())
