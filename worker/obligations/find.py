"""Finding obligations by what people call them: a CAP ref ("4.6") or an MI number ("3/17")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.directory.names import fold
from worker.models import Action, MISheet, Obligation, Plan
from worker.obligations.store import stream


class RefError(Exception):
    """The reference names nothing, or more than one thing."""


def find(
    session: Session, ref: str, plan: str | None = None, establishment: str | None = None
) -> list[Obligation]:
    """The obligations of an action or MI sheet, open and resolved, in a stable order."""
    if "/" in ref:
        found = sheet_obligations(session, ref, establishment)
    else:
        action = find_action(session, ref, plan)
        found = list(
            stream(session, include_resolved=True, where=[Obligation.action_id == action.id])
        )
    if not found:
        raise RefError(f"{ref}: nothing to escalate (no target date, or already complete)")
    return found


def find_action(session: Session, ref: str, plan: str | None) -> Action:
    query = select(Action).join(Plan).where(Action.ref == ref)
    if plan:
        query = query.where(Plan.title == plan)
    actions = list(session.scalars(query))
    if not actions:
        raise RefError(f"no action {ref}" + (f" in plan {plan!r}" if plan else ""))
    if len(actions) > 1:
        titles = "; ".join(repr(a.plan.title) for a in actions)
        raise RefError(f"action {ref} is in {len(actions)} plans ({titles}): add --plan NAME")
    return actions[0]


def sheet_obligations(session: Session, number: str, establishment: str | None) -> list[Obligation]:
    sheet = session.scalar(select(MISheet).where(MISheet.number == number))
    if sheet is None:
        raise RefError(f"no MI sheet {number}")
    mine = [Obligation.mi_sheet_id == sheet.id]
    found = list(stream(session, include_resolved=True, where=mine))
    if establishment is None:
        return found
    chosen = [
        r for r in found if r.establishment and fold(r.establishment.name) == fold(establishment)
    ]
    if not chosen:
        raise RefError(f"MI sheet {number} is not owed by an establishment named {establishment!r}")
    return chosen
