"""The partnership's directory (config/directory.yaml): agencies, people, establishments.

The business manager edits the YAML; `sync_directory` brings the database in line with it,
and lead-agency names in documents are matched against the agencies' aliases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.directory.leads import Leads
from worker.directory.names import fold
from worker.models import (
    ActionLead,
    Agency,
    AgencyAlias,
    Contact,
    Establishment,
    EstablishmentGroup,
    Role,
)
from worker.yaml_files import mapping, read_yaml, validated

AgencyRole = Literal["named_contact", "line_manager", "senior_safeguarding_lead"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Names reach e-mail headers and bodies, pages and feeds: one line each, so CR and LF are
# refused here (other separators are flattened where the text is written).
ONE_LINE = r"^[^\r\n]*$"
Name = Annotated[str, Field(min_length=1, pattern=ONE_LINE)]


class Person(Strict):
    name: str = Field(min_length=1, pattern=ONE_LINE)
    email: EmailStr
    phone: str | None = None


class AgencyContact(Person):
    role: AgencyRole
    reports_to: EmailStr | None = None


class AgencyEntry(Strict):
    name: Name
    aliases: list[Name] = []
    contacts: list[AgencyContact] = []


class EstablishmentEntry(Strict):
    name: Name
    email: EmailStr
    contact: Name | None = None
    groups: list[Name] = []
    urn: Annotated[str, Field(pattern=r"^\d{5,7}$")] | None = None  # the DfE's number
    closed: date | None = None  # closed (no MI sheets from then), kept on record


class LAContact(Person):
    """A local-authority officer named as the LA contact of MI sheets. Sheets name them by
    name only: the address mail goes to is this one, never one found in a document."""

    agency: Name | None = None  # their sheets' deadlines appear in this agency's calendar


class Partnership(Strict):
    name: str = Field(pattern=ONE_LINE)
    # As used in e-mail subjects: "NSCP actions: …"
    short_name: str | None = Field(default=None, pattern=ONE_LINE)
    business_manager: Person
    independent_chair: Person


class Cover(Strict):
    """Someone away: from `starts` to `ends` (both included) `delegate` receives their
    digests and may act for them. Their line manager is told as the ladder says, as ever."""

    model_config = ConfigDict(populate_by_name=True)

    person: EmailStr
    delegate: Person
    starts: date = Field(alias="from")
    ends: date = Field(alias="to")

    def on(self, day: date) -> bool:
        return self.starts <= day <= self.ends


class Directory(Strict):
    partnership: Partnership
    themes: list[Name] = Field(min_length=1)
    agencies: list[AgencyEntry]
    groups: list[Name] = []
    establishments: list[EstablishmentEntry] = []
    la_contacts: list[LAContact] = []
    cover: list[Cover] = []

    @model_validator(mode="after")
    def check_references(self) -> Directory:
        problems = [*self.alias_clashes(), *self.unknown_groups(), *self.unknown_managers(),
                    *self.la_contact_problems(), *self.cover_problems(),
                    *self.establishment_problems()]  # fmt: skip
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def addresses(self) -> set[str]:
        """Every address the directory tells (lower case)."""
        officers = self.partnership.business_manager, self.partnership.independent_chair
        return (
            {p.email.lower() for p in [*officers, *self.la_contacts]}
            | {c.email.lower() for a in self.agencies for c in a.contacts}
            | {e.email.lower() for e in self.establishments}
        )

    def establishment_problems(self) -> list[str]:
        names: set[str] = set()
        urns: set[str] = set()
        problems = []
        for i, place in enumerate(self.establishments):
            if fold(place.name) in names:
                problems.append(f"establishments[{i}].name: {place.name!r} is listed twice")
            if place.urn and place.urn in urns:
                problems.append(f"establishments[{i}].urn: URN {place.urn} is listed twice")
            names.add(fold(place.name))
            urns.add(place.urn or "")
        return problems

    def cover_problems(self) -> list[str]:
        known, problems = self.addresses(), []
        for i, entry in enumerate(self.cover):
            if entry.person.lower() not in known:
                problems.append(f"cover[{i}].person: {entry.person} is not in the directory")
            if entry.ends < entry.starts:
                problems.append(f"cover[{i}].to: {entry.ends} is before its from date")
            if entry.delegate.email.lower() == entry.person.lower():
                problems.append(f"cover[{i}].delegate: someone cannot cover for themselves")
        return problems

    def covering(self, day: date) -> dict[str, Person]:
        """Who is away on `day` (lower-case address) and who covers for them."""
        return {c.person.lower(): c.delegate for c in self.cover if c.on(day)}

    def alias_clashes(self) -> list[str]:
        owner: dict[str, str] = {}
        problems = []
        for index, agency in enumerate(self.agencies):
            for alias in [agency.name, *agency.aliases]:
                key = fold(alias)
                if owner.get(key, agency.name) != agency.name:
                    problems.append(f"agencies[{index}]: alias {alias!r} also names {owner[key]}")
                owner[key] = agency.name
        return problems

    def unknown_groups(self) -> list[str]:
        return [
            f"establishments[{i}].groups: unknown group {g!r} (known: {', '.join(self.groups)})"
            for i, e in enumerate(self.establishments)
            for g in e.groups
            if g not in self.groups
        ]

    def unknown_managers(self) -> list[str]:
        emails = {c.email.lower() for a in self.agencies for c in a.contacts}
        return [
            f"agencies[{i}].contacts[{j}].reports_to: no contact has e-mail {c.reports_to}"
            for i, a in enumerate(self.agencies)
            for j, c in enumerate(a.contacts)
            if c.reports_to and c.reports_to.lower() not in emails
        ]

    def la_contact_problems(self) -> list[str]:
        agencies = {a.name for a in self.agencies}
        taken = {c.email.lower() for a in self.agencies for c in a.contacts}
        taken |= {self.partnership.business_manager.email.lower(),
                  self.partnership.independent_chair.email.lower()}  # fmt: skip
        names: set[str] = set()
        problems = []
        for i, person in enumerate(self.la_contacts):
            where = f"la_contacts[{i}]"
            if person.agency and person.agency not in agencies:
                problems.append(f"{where}.agency: unknown agency {person.agency!r}")
            if person.email.lower() in taken:
                problems.append(f"{where}.email: {person.email} is already in the directory")
            if fold(person.name) in names:
                problems.append(f"{where}.name: {person.name!r} is listed twice")
            taken.add(person.email.lower())
            names.add(fold(person.name))
        return problems


def load_directory(path: Path) -> Directory:
    return directory_from(path, read_yaml(path, empty="the partnership's directory"))


def directory_from(path: Path, data: Any) -> Directory:
    """The directory from already-parsed content; `path` names where it came from."""
    top = mapping(path, data, "keys such as partnership and agencies")
    return validated(path, Directory, top)


def find_agency(session: Session, name: str) -> Agency | None:
    """The agency called `name` or one of its aliases (case and spacing do not matter)."""
    alias = session.scalar(select(AgencyAlias).where(AgencyAlias.alias == fold(name)))
    return alias.agency if alias else None


def sync_directory(session: Session, directory: Directory) -> None:
    """Make the database's agencies, contacts and establishments match the directory."""
    release_aliases(session, directory)
    agencies = {entry.name: sync_agency(session, entry) for entry in directory.agencies}
    sync_contacts(session, people(directory, agencies))
    sync_establishments(session, directory)
    resolve_leads(session)


def release_aliases(session: Session, directory: Directory) -> None:
    """Every alias an agency no longer has, let go first: an agency renamed to one of its
    aliases, or an alias moved to another agency, is then free for the agency that now has it."""
    wanted = {e.name: {fold(a) for a in [e.name, *e.aliases]} for e in directory.agencies}
    for agency in session.scalars(select(Agency)):
        keep = wanted.get(agency.name, set())
        agency.aliases = [a for a in agency.aliases if a.alias in keep]
    session.flush()


def sync_agency(session: Session, entry: AgencyEntry) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.name == entry.name))
    if agency is None:
        agency = Agency(name=entry.name)
        session.add(agency)
    wanted = {fold(a) for a in [entry.name, *entry.aliases]}
    agency.aliases = [a for a in agency.aliases if a.alias in wanted]
    have = {a.alias for a in agency.aliases}
    session.flush()
    agency.aliases += [AgencyAlias(alias=a) for a in sorted(wanted - have)]
    return agency


@dataclass(frozen=True)
class Wanted:
    """A person as the directory describes them."""

    person: Person
    role: Role
    agency: Agency | None = None
    reports_to: str | None = None

    @property
    def email(self) -> str:
        return str(self.person.email).lower()


def people(directory: Directory, agencies: dict[str, Agency]) -> list[Wanted]:
    partnership = directory.partnership
    return [
        *(
            Wanted(c, Role(c.role), agencies[a.name], c.reports_to)
            for a in directory.agencies
            for c in a.contacts
        ),
        *(
            Wanted(c, Role.LA_CONTACT, agencies[c.agency] if c.agency else None)
            for c in directory.la_contacts
        ),
        Wanted(partnership.business_manager, Role.BUSINESS_MANAGER),
        Wanted(partnership.independent_chair, Role.INDEPENDENT_CHAIR),
    ]


def sync_contacts(session: Session, wanted: list[Wanted]) -> None:
    by_email = {c.email: c for c in session.scalars(select(Contact))}
    for contact in by_email.values():
        contact.line_manager = None
    session.flush()
    keep = {w.email for w in wanted}
    for email in [e for e in by_email if e not in keep]:
        session.delete(by_email.pop(email))
    for w in wanted:
        contact = by_email.setdefault(w.email, Contact(email=w.email))
        contact.name, contact.phone, contact.role = w.person.name, w.person.phone, w.role
        contact.agency = w.agency
        session.add(contact)
    link_line_managers(wanted, by_email)


def link_line_managers(wanted: list[Wanted], by_email: dict[str, Contact]) -> None:
    """A named contact reports to `reports_to`, else to their agency's line manager."""
    managers = {w.agency.name: w.email for w in wanted if w.agency and w.role is Role.LINE_MANAGER}
    for w in wanted:
        if w.role is not Role.NAMED_CONTACT or w.agency is None:
            continue
        manager = w.reports_to or managers.get(w.agency.name)
        by_email[w.email].line_manager = by_email.get(manager.lower()) if manager else None


def sync_establishments(session: Session, directory: Directory) -> None:
    groups = {g.name: g for g in session.scalars(select(EstablishmentGroup))}
    for name in directory.groups:
        groups.setdefault(name, EstablishmentGroup(name=name))
        session.add(groups[name])
    places = list(session.scalars(select(Establishment)))
    by_urn = {e.urn: e for e in places if e.urn}
    by_name = {fold(e.name): e for e in places if not e.urn}  # by name until it has a URN
    for entry in directory.establishments:  # by URN first: a school renamed is the same one
        place = by_urn.get(entry.urn) if entry.urn else None
        if place is None:
            place = by_name.pop(fold(entry.name), None) or Establishment(name=entry.name)
        place.name, place.urn = entry.name, entry.urn or place.urn
        place.email, place.contact_name = entry.email.lower(), entry.contact
        place.closed_on = entry.closed
        place.groups = [] if entry.closed else [groups[g] for g in entry.groups]
        session.add(place)
        session.flush()  # a rename frees its old name for another entry


def resolve_leads(session: Session) -> None:
    """Match every action's leads against the directory as it now stands."""
    session.flush()
    leads = Leads.of(session)
    for lead in session.scalars(select(ActionLead)):
        lead.agency_id = leads.agency_of(lead.name)
