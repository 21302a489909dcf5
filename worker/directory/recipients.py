"""Who stands behind each escalation role for one obligation, and why they are told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.directory.names import fold
from worker.models import Contact, MISheet, Obligation, Role
from worker.workdays import local_date


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
    la_contacts: Mapping[str, Person] = field(default_factory=dict)  # by folded name

    @classmethod
    def load(cls, session: Session) -> Partnership:
        def by_role(role: Role) -> Person | None:
            return person(session.scalar(select(Contact).where(Contact.role == role)))

        officers = session.scalars(select(Contact).where(Contact.role == Role.LA_CONTACT))
        named = {fold(c.name): Person(c.name, c.email) for c in officers}
        return cls(by_role(Role.BUSINESS_MANAGER), by_role(Role.INDEPENDENT_CHAIR), named)

    def la_contact(self, sheet: MISheet | None) -> Person | None:
        """The directory's person for the LA contact a sheet names, if there is one."""
        if sheet is None or not sheet.contact_name:
            return None
        return self.la_contacts.get(fold(sheet.contact_name))


def owner_of(row: Obligation, partnership: Partnership) -> Owner:
    """Fill the roles from the directory for this obligation's owner."""
    people: dict[str, Person | None] = {
        "business_manager": partnership.business_manager,
        "independent_chair": partnership.independent_chair,
    }
    if row.mi_sheet is not None:
        people["la_contact"] = partnership.la_contact(row.mi_sheet)
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
    if row.kind == "recommendation":  # the business manager's own, the chair above them
        people["named_contact"] = partnership.business_manager
        return Owner("the business manager (a recommendation without an action)", people)
    contact = people["named_contact"] = partnership.la_contact(row.mi_sheet)
    if contact is not None:
        return Owner(f"LA contact {contact.name}", people)
    written = row.mi_sheet.contact_name if row.mi_sheet else None
    return Owner(f"LA contact {written or '(none named)'} (not in the directory)", people)


@dataclass(frozen=True)
class UnknownContact:
    """An MI sheet whose LA contact the directory does not have: nobody can be told."""

    sheet: str  # "MI 3/17"
    name: str
    seen: str | None  # the address the sheet gives, shown, never mailed
    since: date

    @property
    def problem(self) -> str:
        seen = f"; the sheet gives {self.seen}, which is never mailed" if self.seen else ""
        return (
            f"LA contact {self.name} is not in the directory, so nobody is told as the "
            f"sheet's LA contact: add them in the console (Directory, Add an LA contact){seen}"
        )


def unknown_la_contacts(
    session: Session, partnership: Partnership, tz: ZoneInfo
) -> list[UnknownContact]:
    """MI sheets still owed by someone whose LA contact no directory entry matches by name."""
    known = partnership.la_contacts
    owed = select(Obligation.mi_sheet_id).where(Obligation.resolved_on.is_(None))
    query = select(MISheet).where(MISheet.contact_name.is_not(None), MISheet.id.in_(owed))
    return [
        UnknownContact(
            f"MI {s.number}", s.contact_name or "", s.contact_email, local_date(s.updated_at, tz)
        )
        for s in session.scalars(query.order_by(MISheet.number))
        if fold(s.contact_name or "") not in known
    ]
