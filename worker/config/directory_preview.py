"""What a change to the directory would do to the open items, before it is saved.

Worked out in the caller's transaction, which the caller rolls back: the tables brought in
line with the directory in force and the items up to date (as the daily run would), each
open item's lead and the people who hear of it read; then the same with the proposed
directory. The directory only says who stands behind each lead and role, so a change moves
no stage, and never completes or withdraws an item: it changes an item's lead (an alias
matching an unassigned lead) or who is told of it (a person in a role, an LA contact), and a
new establishment in a group brings in the open MI sheets sent to that group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker.directory.entries import Directory, sync_directory
from worker.directory.recipients import Partnership, owner_of, who
from worker.models import Agency, Contact, Obligation
from worker.obligations import bring_up_to_date, engine_view, view_of
from worker.rules.ladder import Rules

SHOWN = 200  # items listed at most (the counts cover them all)
READ_WITH = (  # what an item's lead, people and label are read from, in a few queries
    selectinload(Obligation.agency).selectinload(Agency.contacts)
    .selectinload(Contact.line_manager),
    selectinload(Obligation.mi_sheet),
    selectinload(Obligation.establishment),
    selectinload(Obligation.events),
    selectinload(Obligation.action),
)  # fmt: skip


@dataclass(frozen=True)
class Standing:
    """One open item as the directory makes it: its label, lead, and who hears of it."""

    label: str
    lead: str
    told: frozenset[str]  # everyone its ladder tells, up to the top, as "Name <address>"


@dataclass(frozen=True)
class Changed:
    """One open item whose lead or people differ under the proposed directory."""

    label: str
    lead_before: str
    lead_after: str
    told: tuple[str, ...]  # who would hear of it who does not now
    untold: tuple[str, ...]  # who hears of it now and no longer would


@dataclass(frozen=True)
class Effect:
    live: int  # open items now
    changed: tuple[Changed, ...]  # at most SHOWN
    changed_total: int
    new: tuple[str, ...]  # items the change brings in (a school joining a group)
    ended: tuple[str, ...]  # items it would end: none, by design; said if ever not

    @property
    def nothing(self) -> bool:
        return not (self.changed_total or self.new or self.ended)


def effect(session: Session, in_force: Directory, proposed: Directory, rules: Rules,
           tz: ZoneInfo, today: date) -> Effect:  # fmt: skip
    """The open items under `in_force` and under `proposed` (`session` rolled back after)."""
    before = standing_under(session, in_force, rules, tz, today)
    after = standing_under(session, proposed, rules, tz, today)
    changed = [differs(before[k], after[k]) for k in before if k in after]
    found = [c for c in changed if c is not None]
    return Effect(len(before), tuple(found[:SHOWN]), len(found),
                  tuple(after[k].label for k in after if k not in before),
                  tuple(before[k].label for k in before if k not in after))  # fmt: skip


def standing_under(session: Session, directory: Directory, rules: Rules, tz: ZoneInfo,
                   today: date) -> dict[str, Standing]:  # fmt: skip
    """Each open item (by key) once the tables follow `directory`."""
    sync_directory(session, directory)
    bring_up_to_date(session, rules, tz, today)
    session.expire_all()
    partnership = Partnership.load(session)
    query = (select(Obligation).where(Obligation.resolved_on.is_(None)).order_by(Obligation.id)
             .options(*READ_WITH))  # fmt: skip
    found = {}
    for row in session.scalars(query):
        owner = owner_of(row, partnership)
        ladder = engine_view(row).ladder or rules.ladder()
        people, _ = who(owner, ladder.roles_for(ladder.top))
        told = frozenset(f"{p.name} <{p.email}>" for p in people)
        found[row.key] = Standing(view_of(row).label, owner.label, told)
    return found


def differs(before: Standing, after: Standing) -> Changed | None:
    if before == after:
        return None
    return Changed(before.label, before.lead, after.lead,
                   tuple(sorted(after.told - before.told)),
                   tuple(sorted(before.told - after.told)))  # fmt: skip
