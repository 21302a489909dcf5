"""A review's recommendations and the CAP actions that answer them.

A CAP action is suggested for a recommendation when its SCR Ref names the same case ("A1",
"Case A1" and "SCR Case A1" name one case; "LCSPR Child D" and "Child D" another); the
business manager confirms a suggestion or links any action by hand. Linking records the
change and completes the recommendation's item at once, through the one event path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker.history import record_change
from worker.models import Action, ActionStatus, Obligation, Recommendation
from worker.obligations.events import completed, record_event

REVIEW_WORDS = re.compile(
    r"\b(?:case|child|children|review|scr|lcspr|cspr|rapid|serious|local|safeguarding|"
    r"practice|the|of)\b",
    re.I,
)


def case_of(name: str) -> str:
    """What identifies a case, whatever words surround it: 'Case A1' and 'A1' give 'a1'."""
    return re.sub(r"[\W_]+", "", REVIEW_WORDS.sub(" ", name)).casefold()


@dataclass(frozen=True)
class Standing:
    """A recommendation, the action answering it, or the actions that might."""

    recommendation: Recommendation
    suggested: tuple[Action, ...]


def standings(session: Session) -> list[Standing]:
    """Every recommendation not withdrawn, with suggestions for those still unanswered."""
    query = (
        select(Recommendation)
        .options(selectinload(Recommendation.action))
        .where(Recommendation.withdrawn.is_(False))
        .order_by(Recommendation.review, Recommendation.number)
    )
    rows = list(session.scalars(query))
    live = select(Action).options(selectinload(Action.plan))
    actions = list(session.scalars(live.where(Action.status != ActionStatus.WITHDRAWN)))
    by_case: dict[str, list[Action]] = {}
    for action in actions:
        for ref in action.scr_refs:
            by_case.setdefault(case_of(ref), []).append(action)
    return [Standing(row, () if row.action else tuple(by_case.get(case_of(row.review), [])))
            for row in rows]  # fmt: skip


def link(
    session: Session, row: Recommendation, action: Action, by: str, now: datetime, today: date
) -> None:
    """`action` answers `row`: recorded in the history, and the item completed."""
    key = f"{row.review} recommendation {row.number}"
    answer = f"{action.ref} ({action.plan.title})"
    before = f"{row.action.ref} ({row.action.plan.title})" if row.action else None
    record_change(session, "recommendation", key, "action", before, answer, by, now)
    row.action, row.linked_by, row.linked_at, row.updated_at = action, by, now, now
    item = session.scalar(select(Obligation).where(Obligation.recommendation_id == row.id))
    if item is not None and item.resolved_on is None and not completed(item):
        record_event(item, "completed", today, by, f"answered by action {answer}")


def find_recommendation(session: Session, review: str, number: int) -> Recommendation | None:
    """Recommendation `number` of the review named exactly (in any case), else of the one
    review whose case `review` names; None when none or several ("Child D", "Case D")."""
    rows = list(session.scalars(select(Recommendation).where(Recommendation.number == number)))
    exact = [r for r in rows if r.review.casefold() == review.strip().casefold()]
    alike = exact or [r for r in rows if case_of(r.review) == case_of(review)]
    return alike[0] if len(alike) == 1 else None
