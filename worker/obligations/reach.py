"""Whom an obligation can reach, and which obligations can reach a person.

Planning a period asks the second question for the few people who may have something to hear,
so that only their obligations are read. The answer is a superset, from the directory alone:
every role an owner has, at every stage (the engine then decides who is told today).

* a lead agency reaches its named contact, that contact's line manager and its senior lead;
* an establishment reaches its designated contact;
* an MI sheet reaches the LA contact it names, when the directory has them;
* the business manager and the chair are reached from the first stage any ladder in use
  tells them at, and the business manager by every unassigned item and every
  recommendation still without an action.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from worker.directory.names import fold
from worker.directory.recipients import Partnership
from worker.models import Agency, Contact, Establishment, MISheet, Obligation, Role
from worker.rules.ladder import Ladder

OFFICERS = ("business_manager", "independent_chair")
MOST_IDS = 10_000  # owners named in one query (SQLite allows 32,766 parameters a statement)


@dataclass
class Owned:
    """What one person can be told about."""

    agencies: set[int] = field(default_factory=set)
    establishments: set[int] = field(default_factory=set)
    sheets: set[int] = field(default_factory=set)
    officer: bool = False  # the business manager or the chair


@dataclass(frozen=True)
class Owners:
    """The owners of some obligations, as ids."""

    agencies: frozenset[int]
    establishments: frozenset[int]
    sheets: frozenset[int]


@dataclass(frozen=True)
class Reach:
    by_person: dict[str, Owned]
    officers: frozenset[str]

    @classmethod
    def load(cls, session: Session, partnership: Partnership) -> Reach:
        by_person: dict[str, Owned] = defaultdict(Owned)
        query = select(Agency).options(
            selectinload(Agency.contacts).joinedload(Contact.line_manager)
        )
        for agency in session.scalars(query):
            for contact in agency.contacts:
                if contact.role is Role.NAMED_CONTACT and contact.line_manager is not None:
                    by_person[contact.line_manager.email].agencies.add(agency.id)
                if contact.role in (Role.NAMED_CONTACT, Role.SENIOR_SAFEGUARDING_LEAD):
                    by_person[contact.email].agencies.add(agency.id)
        for place_id, email in session.execute(select(Establishment.id, Establishment.email)):
            by_person[email].establishments.add(place_id)
        named = select(MISheet.id, MISheet.contact_name).where(MISheet.contact_name.is_not(None))
        for sheet_id, name in session.execute(named):
            officer = partnership.la_contacts.get(fold(name or ""))
            if officer is not None:
                by_person[officer.email].sheets.add(sheet_id)
        people = (partnership.business_manager, partnership.independent_chair)
        officers = frozenset(p.email for p in people if p is not None)
        for email in officers:
            by_person[email].officer = True
        return cls(dict(by_person), officers)

    @property
    def signature(self) -> str:
        """Changes whenever anyone comes to reach, or stops reaching, any obligation."""
        entries = sorted(
            (email, sorted(o.agencies), sorted(o.establishments), sorted(o.sheets), o.officer)
            for email, o in self.by_person.items()
        )
        return hashlib.sha256(json.dumps(entries).encode()).hexdigest()

    @property
    def people(self) -> frozenset[str]:
        """Everyone an obligation can reach."""
        return frozenset(self.by_person)

    def people_of(self, owners: Owners) -> set[str]:
        """Everyone these owners can reach, the officers always included."""
        return set(self.officers) | {
            email
            for email, owned in self.by_person.items()
            if owned.agencies & owners.agencies
            or owned.establishments & owners.establishments
            or owned.sheets & owners.sheets
        }

    def rows_of(self, people: Iterable[str], officer_from: int) -> ColumnElement[bool]:
        """The condition on obligations that can reach any of `people`; the officers' are
        those from stage `officer_from` on, and the unassigned."""
        owned = [self.by_person[p] for p in people if p in self.by_person]
        agencies = set().union(*(o.agencies for o in owned))
        places = set().union(*(o.establishments for o in owned))
        sheets = set().union(*(o.sheets for o in owned))
        if len(agencies) + len(places) + len(sheets) > MOST_IDS:
            return true()  # reading everything is then cheaper than saying what not to read
        conditions: list[ColumnElement[bool]] = [
            Obligation.agency_id.in_(agencies),
            Obligation.establishment_id.in_(places),
            Obligation.mi_sheet_id.in_(sheets),
        ]
        if any(o.officer for o in owned):
            conditions += [Obligation.stage >= officer_from,
                           Obligation.kind.in_(("unassigned", "recommendation"))]  # fmt: skip
        return or_(false(), *conditions)


def owners_where(session: Session, condition: ColumnElement[bool]) -> Owners:
    """The owners of the obligations that meet `condition`."""
    columns = (Obligation.agency_id, Obligation.establishment_id, Obligation.mi_sheet_id)
    agencies: set[int] = set()
    places: set[int] = set()
    sheets: set[int] = set()
    for agency, place, sheet in session.execute(select(*columns).where(condition).distinct()):
        for ids, found in ((agencies, agency), (places, place), (sheets, sheet)):
            if found is not None:
                ids.add(found)
    return Owners(frozenset(agencies), frozenset(places), frozenset(sheets))


def officer_stage(session: Session, current: Ladder) -> int:
    """The first stage at which the current ladder, or any copy of one on a live item, tells
    the business manager or the chair."""
    stored = select(Obligation.ladder).where(
        Obligation.resolved_on.is_(None), Obligation.ladder.is_not(None)
    )
    ladders = [current, *(Ladder.from_json(t) for t in session.scalars(stored.distinct()) if t)]
    return min(first_telling(ladder) for ladder in ladders)


def first_telling(ladder: Ladder) -> int:
    stages = range(0, ladder.top + 1)
    told = (s for s in stages if any(r in ladder.roles_for(s) for r in OFFICERS))
    return next(told, ladder.top + 1)
