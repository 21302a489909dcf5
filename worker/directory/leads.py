"""Which agency a plan's lead names. Plans name an agency ("Health", "NSCB"), or a person or
a role of one: "Assistant Director, Safeguarding and Family Support", "KA".

A lead is, in this order: an agency's name or alias; a contact's name in the directory, whole
or before a comma (the role, then its portfolio); a contact's initials ("Practice Lead" is
PL), when no other contact has them. Anything else names no agency: the item is the business
manager's to assign, with the lead as written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.directory.names import fold
from worker.models import AgencyAlias, Contact


def initials(name: str) -> str:
    """The first letters of a name's capitalised words: 'Director of Nursing' is DN."""
    return "".join(word[0] for word in name.split() if word[:1].isupper())


@dataclass(frozen=True)
class Leads:
    aliases: dict[str, int]  # folded alias -> agency
    people: dict[str, int]  # a contact's folded name -> their agency
    by_initials: dict[str, int]  # initials only one contact has -> their agency

    @classmethod
    def of(cls, session: Session) -> Leads:
        aliases = {a.alias: a.agency_id for a in session.scalars(select(AgencyAlias))}
        query = select(Contact.name, Contact.agency_id).where(Contact.agency_id.is_not(None))
        contacts = [(name, agency) for name, agency in session.execute(query) if agency]
        counted = Counter(initials(name) for name, _ in contacts)
        unique = {initials(n): a for n, a in contacts if counted[initials(n)] == 1}
        people = {fold(name): agency for name, agency in contacts}
        return cls(aliases, people, {i: a for i, a in unique.items() if len(i) > 1})

    def agency_of(self, lead: str) -> int | None:
        folded = fold(lead)
        for key in (folded, fold(lead.split(",")[0])):
            found = self.aliases.get(key) or self.people.get(key)
            if found is not None:
                return found
        return self.by_initials.get(lead.strip()) if lead.strip().isupper() else None
