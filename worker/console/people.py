"""Who a signed-in person is, from the directory in force, and what that lets them do.

| role                     | sees                               | may do                         |
|--------------------------|------------------------------------|--------------------------------|
| business manager         | everything                         | everything, on any item        |
| independent chair        | everything                         | nothing that changes state     |
| agency contact (any role)| their agency's items               | acknowledge, note, complete    |
| school DSL               | their establishment's MI sheets    | note, complete for their school|

Someone can hold several of these (a named contact of two agencies' services, say): they see
and may do what each allows. The directory is read on every request, so a change to it (a
leaver removed, a role moved) takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, false, or_, select

from worker.directory.entries import Directory
from worker.models import Agency, Establishment, Obligation
from worker.rules.ladder import ROLE_NAMES

ACKNOWLEDGE, NOTE, COMPLETE, ESCALATE, RETARGET, REASSIGN = (
    "acknowledge", "note", "complete", "escalate", "retarget", "reassign",
)  # fmt: skip
AGENCY_ACTS = (ACKNOWLEDGE, NOTE, COMPLETE, ESCALATE)  # the RPD policy: practitioners escalate
SCHOOL_ACTS = (NOTE, COMPLETE)
MANAGER_ACTS = (ACKNOWLEDGE, NOTE, COMPLETE, ESCALATE, RETARGET, REASSIGN)


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    roles: tuple[str, ...]  # as shown: "business manager", "line manager, Health"
    manager: bool = False  # the business manager
    chair: bool = False
    agencies: frozenset[str] = frozenset()  # names
    establishments: frozenset[str] = frozenset()  # names
    # (agency or school, address of the person away) for each place held only as cover
    standing_in: tuple[tuple[str, str], ...] = ()

    @property
    def sees_everything(self) -> bool:
        return self.manager or self.chair

    def needs_organisation(self, kinds: tuple[str, ...]) -> bool:
        """Whether one of this person's places is among `kinds` (settings'
        `organisation_sign_in_for`): then only an organisation's account signs them in."""
        mine = {
            "business manager": self.manager,
            "independent chair": self.chair,
            "agency contact": bool(self.agencies),
            "school DSL": bool(self.establishments),
        }
        return any(mine.get(kind, False) for kind in kinds)

    def acts_on(self, row: Obligation) -> tuple[str, ...]:
        """What this person may do to `row` (whatever state it is in)."""
        if self.manager:
            return MANAGER_ACTS if row.action_id is not None else MANAGER_ACTS[:-1]
        return self.own_acts(row)

    def own_acts(self, row: Obligation) -> tuple[str, ...]:
        """What an agency or school role of this person allows on `row`."""
        if row.agency is not None and row.agency.name in self.agencies:
            return AGENCY_ACTS
        if row.establishment is not None and row.establishment.name in self.establishments:
            return SCHOOL_ACTS
        return ()

    def actor(self, row: Obligation) -> str:
        """Who the record says acted on `row`: this person, or "delegate for person" where
        they act only as cover."""
        place = row.agency.name if row.agency else row.establishment.name if row.establishment \
            else None  # fmt: skip
        mine = {p for p, _ in self.standing_in}
        if place not in mine or self.manager:
            return self.email
        away = sorted({a for p, a in self.standing_in if p == place})
        return f"{self.email} for {', '.join(away)}"[:320]

    def may_see(self, row: Obligation) -> bool:
        return self.sees_everything or bool(self.own_acts(row))

    def mine(self) -> ColumnElement[bool]:
        """The obligations of this person's agencies and establishments, as SQL."""
        agencies = select(Agency.id).where(Agency.name.in_(sorted(self.agencies)))
        places = select(Establishment.id).where(Establishment.name.in_(sorted(self.establishments)))
        if not self.agencies and not self.establishments:
            return false()
        return or_(Obligation.agency_id.in_(agencies), Obligation.establishment_id.in_(places))

    def visible(self) -> ColumnElement[bool] | None:
        """What this person may see, as SQL; None when they see everything."""
        return None if self.sees_everything else self.mine()

    def told(self, officer_stage: int) -> ColumnElement[bool]:
        """What this person is told about, as SQL: their agencies' and schools' items; for
        the business manager and the chair, the items at the stages that tell them (from
        `officer_stage` up)."""
        return Obligation.stage >= officer_stage if self.sees_everything else self.mine()


def person_of(directory: Directory, email: str, today: date | None = None) -> Person | None:
    """The person the directory in force knows by `email`, or None: only they sign in. On
    `today`, someone covering for a person away also has that person's agencies and
    schools, and what they do there is recorded as done for them."""
    wanted = email.strip().lower()
    own = roles_of(directory, wanted)
    covering = [c for c in directory.cover if today and c.on(today)
                and str(c.delegate.email).lower() == wanted]  # fmt: skip
    if own is None and not covering:
        return None
    person = own or Person(wanted, covering[0].delegate.name, ())
    own_places = person.agencies | person.establishments
    for entry in covering:
        away = roles_of(directory, str(entry.person).lower())
        if away is None:
            continue
        theirs = (away.agencies | away.establishments) - own_places
        stood = tuple((place, away.email) for place in sorted(theirs))
        person = replace(
            person,
            roles=(*person.roles, f"covering for {away.name} until {entry.ends.isoformat()}"),
            agencies=person.agencies | away.agencies,
            establishments=person.establishments | away.establishments,
            standing_in=(*person.standing_in, *stood),
        )
    return person


def roles_of(directory: Directory, wanted: str) -> Person | None:
    """What the directory itself gives the address `wanted`: its roles, agencies, schools."""
    roles: list[str] = []
    name = ""
    officers = directory.partnership
    manager = str(officers.business_manager.email).lower() == wanted
    chair = str(officers.independent_chair.email).lower() == wanted
    if manager:
        roles.append("business manager")
        name = officers.business_manager.name
    if chair:
        roles.append("independent chair")
        name = officers.independent_chair.name
    agencies = set()
    for agency in directory.agencies:
        for contact in agency.contacts:
            if str(contact.email).lower() == wanted:
                agencies.add(agency.name)
                roles.append(f"{ROLE_NAMES[contact.role]}, {agency.name}")
                name = name or contact.name
    places = set()
    for place in directory.establishments:
        if str(place.email).lower() == wanted:
            places.add(place.name)
            roles.append(f"designated safeguarding lead, {place.name}")
            name = name or place.contact or place.name
    if not roles:
        return None
    return Person(
        wanted, name, tuple(roles), manager, chair, frozenset(agencies), frozenset(places)
    )
