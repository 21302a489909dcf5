"""Who stands behind each escalation role for one obligation, and why they are told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.models import Contact, Obligation, Role


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    role: str
    reason: str  # "line manager of Designated Nurse (Health)"


@dataclass(frozen=True)
class Owner:
    """The people who fill each role for one obligation; None where nobody does."""

    label: str  # "Health", "Riverside Primary School", "LA contact Daniel Halls"
    people: Mapping[str, Person | None]


def who(owner: Owner, roles: Sequence[str]) -> tuple[list[Recipient], list[str]]:
    """The recipients for `roles`, and the roles nobody in the directory fills.

    A role the owner does not have at all (an LA contact for a CAP action) is skipped.
    """
    told: list[Recipient] = []
    missing: list[str] = []
    for role in (r for r in roles if r in owner.people):
        person = owner.people[role]
        if person is None:
            missing.append(role)
        elif person.email not in {r.email for r in told}:
            told.append(Recipient(person.name, person.email, role, reason(role, owner)))
    return told, missing


def reason(role: str, owner: Owner) -> str:
    named = owner.people.get("named_contact")
    return {
        "named_contact": f"named contact for {owner.label}",
        "line_manager": f"line manager of {named.name if named else 'the named contact'}"
        f" ({owner.label})",
        "senior_safeguarding_lead": f"senior safeguarding lead for {owner.label}",
        "la_contact": "LA contact named on the MI sheet",
        "business_manager": "the partnership's business manager",
        "independent_chair": "the partnership's independent chair",
    }.get(role, role)


def with_role(contacts: Sequence[Contact], role: Role) -> Contact | None:
    return next((c for c in contacts if c.role is role), None)


def person(contact: Contact | None) -> Person | None:
    return Person(contact.name, contact.email) if contact else None


@dataclass(frozen=True)
class Partnership:
    business_manager: Person | None
    independent_chair: Person | None

    @classmethod
    def load(cls, session: Session) -> Partnership:
        def by_role(role: Role) -> Person | None:
            return person(session.scalar(select(Contact).where(Contact.role == role)))

        return cls(by_role(Role.BUSINESS_MANAGER), by_role(Role.INDEPENDENT_CHAIR))


def owner_of(row: Obligation, partnership: Partnership) -> Owner:
    """Fill the roles from the directory for this obligation's owner."""
    people: dict[str, Person | None] = {
        "business_manager": partnership.business_manager,
        "independent_chair": partnership.independent_chair,
    }
    if row.mi_sheet is not None:
        people["la_contact"] = la_contact(row)
    if row.agency is not None:
        named = next((c for c in row.agency.contacts if c.role is Role.NAMED_CONTACT), None)
        lead = next(
            (c for c in row.agency.contacts if c.role is Role.SENIOR_SAFEGUARDING_LEAD), None
        )
        people |= {
            "named_contact": person(named),
            "line_manager": person(named.line_manager if named else None),
            "senior_safeguarding_lead": person(lead),
        }
        return Owner(row.agency.name, people)
    if row.establishment is not None:
        place = row.establishment
        people["named_contact"] = Person(place.contact_name or place.name, place.email)
        return Owner(place.name, people)
    if row.kind == "unassigned":
        return Owner(f"unassigned lead agency {row.lead_name!r}", people)
    contact = people["named_contact"] = la_contact(row)
    return Owner(f"LA contact {contact.name}" if contact else "LA contact (no e-mail)", people)


def la_contact(row: Obligation) -> Person | None:
    sheet = row.mi_sheet
    if sheet is None or not sheet.contact_email:
        return None
    return Person(sheet.contact_name or sheet.contact_email, sheet.contact_email)
