"""Who stands behind each role for one obligation, and why they are told."""

from __future__ import annotations

from datetime import UTC, date, datetime

from worker.directory.recipients import Owner, Partnership, Person, owner_of, who
from worker.models import Agency, Contact, Establishment, MISheet, Obligation, Role

MANAGER = Person("Manager", "manager@example.org")
CHAIR = Person("Chair", "chair@example.org")
DANIEL = Person("Daniel Halls", "daniel.halls@example.org")
PARTNERSHIP = Partnership(MANAGER, CHAIR, {"daniel halls": DANIEL})


def sheet(contact: str | None) -> MISheet:
    return MISheet(number="3/17", title="Briefing", contact_name=contact,
                   updated_at=datetime(2017, 1, 1, tzinfo=UTC))  # fmt: skip


def test_an_agency_fills_its_roles_and_names_the_line_manager_of_its_contact() -> None:
    boss = Contact(name="Boss", email="boss@example.org", role=Role.LINE_MANAGER)
    named = Contact(name="Nurse", email="nurse@example.org", role=Role.NAMED_CONTACT,
                    line_manager=boss)  # fmt: skip
    row = Obligation(key="a", kind="action", agency=Agency(name="Health", contacts=[boss, named]))
    owner = owner_of(row, PARTNERSHIP)
    assert owner.label == "Health"
    told, missing = who(owner, ["named_contact", "line_manager", "senior_safeguarding_lead",
                                "la_contact", "business_manager"])  # fmt: skip
    assert [(r.email, r.reason) for r in told] == [
        ("nurse@example.org", "named contact for Health"),
        ("boss@example.org", "line manager of Nurse (Health)"),
        ("manager@example.org", "the partnership's business manager"),
    ]
    assert missing == ["senior_safeguarding_lead"]  # Health has nobody in that role
    # an action has no LA contact at all: skipped, not missing


def test_one_person_in_two_roles_is_told_once() -> None:
    owner = Owner("Tiny agency", {"named_contact": MANAGER, "business_manager": MANAGER})
    told, missing = who(owner, ["named_contact", "business_manager"])
    assert [r.role for r in told] == ["named_contact"]
    assert missing == []


def test_a_school_is_told_as_its_designated_contact_and_the_sheet_names_its_la_contact() -> None:
    place = Establishment(name="Riverside Primary", email="dsl@riverside.example.org",
                          contact_name="Ms Head")  # fmt: skip
    row = Obligation(key="m", kind="mi_sheet", establishment=place, mi_sheet=sheet("DANIEL  halls"))
    owner = owner_of(row, PARTNERSHIP)
    assert owner.label == "Riverside Primary"
    told, _ = who(owner, ["named_contact", "la_contact"])
    assert [(r.name, r.email, r.reason) for r in told] == [
        ("Ms Head", "dsl@riverside.example.org", "named contact for Riverside Primary"),
        ("Daniel Halls", "daniel.halls@example.org", "LA contact named on the MI sheet"),
    ]


def test_a_sheet_without_a_group_is_owed_by_its_la_contact_known_or_not() -> None:
    known = owner_of(Obligation(key="k", kind="mi_sheet", mi_sheet=sheet("Daniel Halls")),
                     PARTNERSHIP)  # fmt: skip
    assert known.label == "LA contact Daniel Halls"
    assert who(known, ["named_contact"])[0][0].email == DANIEL.email
    unknown = owner_of(Obligation(key="u", kind="mi_sheet", mi_sheet=sheet("Kelly Waters")),
                       PARTNERSHIP)  # fmt: skip
    assert unknown.label == "LA contact Kelly Waters (not in the directory)"
    assert who(unknown, ["named_contact"]) == ([], ["named_contact"])


def test_an_unassigned_item_goes_to_the_business_manager_with_its_written_name() -> None:
    row = Obligation(key="x", kind="unassigned", lead_name="Mystery Trust",
                     target_date=date(2017, 3, 1))  # fmt: skip
    owner = owner_of(row, PARTNERSHIP)
    assert owner.label == "unassigned lead agency 'Mystery Trust'"
    told, _ = who(owner, ["business_manager"])
    assert [r.email for r in told] == [MANAGER.email]


def test_the_la_contact_of_a_sheet_is_found_by_folded_name() -> None:
    obrien = Person("Pat O'Brien", "pat.obrien@example.org")
    assert (
        Partnership(None, None, {"pat o'brien": obrien}).la_contact(sheet("Pat O\u2019Brien"))
        == obrien
    )
    assert PARTNERSHIP.la_contact(sheet(" daniel   HALLS")) == DANIEL
    assert PARTNERSHIP.la_contact(sheet(None)) is None
    assert PARTNERSHIP.la_contact(None) is None
