"""Retention: what the schedule (`retention` in the rules, `worker/rules/ladder.py`) makes
due for destruction, listed in a review that is kept, and destroyed only as that review
listed it, by someone, for a reason, with a record of what class, how many, when and who.

Each record class has its date: a closed action's last change, an MI sheet's deadline (its
publication without one), a session's day, a digest's sending, a sign-in link's making or a
session's last use, a console action's, an import's, a stage change's day. What is still in
use stays whatever its date: an action answering a recommendation, an MI sheet with an open
item or a recent session, the events of an item that stands (they say whether it is done),
a digest link's use while the link could act. A hold on a plan, a review (a case in the
actions' SCR Ref, and the actions answering its recommendations) or an MI sheet keeps
everything linked to it. Applying a review takes the assessments' turn, claims the review
once, destroys what it listed that is still due and not held, and leaves the originals'
files to be removed after the commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, Text, and_, cast, delete, false, or_, select, update
from sqlalchemy.orm import Session

from worker.importers.history import display_name
from worker.models import (
    Action,
    ActionStatus,
    BriefingSession,
    Change,
    ConsoleAction,
    ConsoleSession,
    Delivery,
    DeliveryState,
    ImportRecord,
    LinkUse,
    MISheet,
    Obligation,
    Plan,
    Recommendation,
    RetentionReview,
    SignInFlow,
    SignInLink,
    StageChange,
)
from worker.obligations import take_turn
from worker.obligations.recommendations import case_of
from worker.rules.ladder import Retention

Found = dict[str, list[int]]  # table -> ids
LINK_LIFE = timedelta(days=366)  # the longest a digest's link may be valid (link_valid_days)
CHUNK = 5000  # ids in one statement: far below SQLite's and PostgreSQL's parameter limits


@dataclass
class Destruction:
    """What applying a review destroyed, and the originals to remove once it commits."""

    counts: dict[str, int] = field(default_factory=dict)
    originals: Path = Path()
    files: list[Path] = field(default_factory=list)

    def remove_files(self) -> None:
        """After the commit: a rollback must not leave history naming files that are gone."""
        for path in self.files:
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Held:
    """The ids a schedule's holds keep."""

    plans: frozenset[int]
    actions: frozenset[int]
    sheets: frozenset[int]

    def obligation(self) -> ColumnElement[bool]:
        """Items of held actions or sheets."""
        actions = and_(Obligation.action_id.is_not(None),
                       Obligation.action_id.in_(sorted(self.actions)))  # fmt: skip
        sheets = and_(Obligation.mi_sheet_id.is_not(None),
                      Obligation.mi_sheet_id.in_(sorted(self.sheets)))  # fmt: skip
        return or_(false(), actions, sheets)


def held(session: Session, retention: Retention) -> Held:
    titles = {h.plan.casefold() for h in retention.holds if h.plan}
    cases = {case_of(h.review) for h in retention.holds if h.review}
    numbers = {h.mi_sheet.strip() for h in retention.holds if h.mi_sheet}
    plans = {p.id for p in session.scalars(select(Plan)) if p.title.casefold() in titles}
    actions = {a.id for a in session.scalars(select(Action)) if a.plan_id in plans
               or cases & {case_of(r) for r in a.scr_refs}}  # fmt: skip
    answering = select(Recommendation.review, Recommendation.action_id)
    actions |= {a for review, a in session.execute(answering) if a and case_of(review) in cases}
    sheets = set(session.scalars(select(MISheet.id).where(MISheet.number.in_(numbers))))
    return Held(frozenset(plans), frozenset(actions), frozenset(sheets))


def cutoff(now: datetime, months: int) -> datetime:
    return now - relativedelta(months=months)


def ids(session: Session, column: Any, *where: ColumnElement[bool]) -> list[int]:
    return sorted(session.scalars(select(column).where(*where)))


def due_digests(session: Session, before: datetime, keep: Held) -> Found:
    sent = Delivery.state == DeliveryState.SENT, Delivery.sent_at < before
    return {"deliveries": ids(session, Delivery.id, *sent, cast(Delivery.payload, Text) != "{}")}


def due_sign_in(session: Session, before: datetime, keep: Held) -> Found:
    """Sign-in links and sessions; a digest link's use (what stops it acting twice) is kept
    while a link could still be valid."""
    return {
        "sign_in_links": ids(session, SignInLink.id, SignInLink.created_at < before),
        "sign_in_flows": ids(session, SignInFlow.id, SignInFlow.created_at < before),
        "console_sessions": ids(session, ConsoleSession.id, ConsoleSession.last_seen_at < before),
        "link_uses": ids(session, LinkUse.id, LinkUse.used_at < before - LINK_LIFE),
    }


def due_console_actions(session: Session, before: datetime, keep: Held) -> Found:
    return {"console_actions": ids(session, ConsoleAction.id, ConsoleAction.at < before)}


def due_imports(session: Session, before: datetime, keep: Held) -> Found:
    """Imports past their period, but for those of a plan or MI sheet still in use."""
    used = in_use(session, keep)
    return {"imports": [i for i in ids(session, ImportRecord.id, ImportRecord.at < before)
                        if i not in used]}  # fmt: skip


def in_use(session: Session, keep: Held) -> set[int]:
    """The imports of a plan or MI sheet with an open item, or held: found by the file it
    was last read from, or by its name in their history ("plan 'Plan A': …", "MI sheet 3/17
    (new): …", "MI sheets 3/17, 4/17: sessions …")."""
    titles, numbers, files = standing(session, keep)
    named = [re.escape(f"plan {title!r}") for title in titles]
    named += [rf"MI sheets? (?:[^:;]*, )?{re.escape(n)}(?![\w/.-])" for n in numbers]
    said = re.compile("|".join(named) or r"(?!)")
    records = session.execute(select(ImportRecord.id, ImportRecord.file_name,
                                     ImportRecord.summary))  # fmt: skip
    return {i for i, name, summary in records if name in files or said.search(summary)}


def standing(session: Session, keep: Held) -> tuple[set[str], set[str], set[str]]:
    """The titles of the plans and the numbers of the MI sheets with an open item or held,
    and the files they were last read from."""
    items = session.execute(select(Obligation.action_id, Obligation.mi_sheet_id)
                            .where(Obligation.resolved_on.is_(None))).all()  # fmt: skip
    open_plans = select(Action.plan_id).where(Action.id.in_(sorted({a for a, _ in items if a})))
    plans = session.execute(select(Plan.title, Plan.source_file).where(
        or_(Plan.id.in_(open_plans), Plan.id.in_(sorted(keep.plans))))).all()  # fmt: skip
    sheet_ids = sorted({s for _, s in items if s} | keep.sheets)
    sheets = session.execute(select(MISheet.number, MISheet.source_file)
                             .where(MISheet.id.in_(sheet_ids))).all()  # fmt: skip
    files = {display_name(f) for _, f in [*plans, *sheets] if f}
    return {t for t, _ in plans}, {n for n, _ in sheets}, files


def due_sessions(session: Session, before: datetime, keep: Held) -> Found:
    day = BriefingSession.date < before.date()
    free = BriefingSession.mi_sheet_id.not_in(sorted(keep.sheets))
    return {"briefing_sessions": ids(session, BriefingSession.id, day, free)}


def due_stage_history(session: Session, before: datetime, keep: Held) -> Found:
    """The stage changes of resolved items. Their events stay as long as the item: an
    item's events say whether it is complete, and its action or sheet may still stand."""
    done = select(Obligation.id).where(Obligation.resolved_on.is_not(None), ~keep.obligation())
    return {"stage_changes": ids(session, StageChange.id, StageChange.on < before.date(),
                                 StageChange.obligation_id.in_(done))}  # fmt: skip


def due_plans(session: Session, before: datetime, keep: Held) -> Found:
    closed = Action.status.in_([ActionStatus.COMPLETE, ActionStatus.WITHDRAWN])
    answering = select(Recommendation.action_id).where(Recommendation.action_id.is_not(None))
    actions = ids(session, Action.id, closed, Action.updated_at < before,
                  Action.id.not_in(sorted(keep.actions)), Action.id.not_in(answering))  # fmt: skip
    still = select(Action.plan_id).where(Action.id.not_in(actions))
    plans = ids(session, Plan.id, Plan.imported_at < before, Plan.id.not_in(sorted(keep.plans)),
                Plan.id.not_in(still))  # fmt: skip
    return {"actions": actions, "plans": plans}


def due_mi_sheets(session: Session, before: datetime, keep: Held) -> Found:
    """Sheets past their period with no open item and no session since the cutoff."""
    past = or_(MISheet.due_date < before.date(),
               and_(MISheet.due_date.is_(None), MISheet.published_at < before))  # fmt: skip
    open_items = select(Obligation.mi_sheet_id).where(
        Obligation.resolved_on.is_(None), Obligation.mi_sheet_id.is_not(None))  # fmt: skip
    recent = select(BriefingSession.mi_sheet_id).where(BriefingSession.date >= before.date())
    return {
        "mi_sheets": ids(
            session,
            MISheet.id,
            past,
            MISheet.id.not_in(sorted(keep.sheets)),
            MISheet.id.not_in(open_items),
            MISheet.id.not_in(recent),
        )
    }


FINDERS: dict[str, Callable[[Session, datetime, Held], Found]] = {
    "plans": due_plans, "mi_sheets": due_mi_sheets, "sessions": due_sessions,
    "stage_history": due_stage_history, "digests": due_digests, "sign_in": due_sign_in,
    "console_actions": due_console_actions, "imports": due_imports,
}  # fmt: skip


def review(session: Session, retention: Retention, now: datetime, by: str) -> RetentionReview:
    """What is due now, kept as a review to apply."""
    keep = held(session, retention)
    due = {}
    for cls, months in retention.months.items():
        found = FINDERS[cls](session, cutoff(now, months), keep)
        if any(found.values()):
            due[cls] = found
    row = RetentionReview(made_at=now, made_by=by, due=due)
    session.add(row)
    session.flush()
    return row


def apply(session: Session, reviewed: RetentionReview, retention: Retention, now: datetime,
          by: str, reason: str, originals: Path) -> Destruction:  # fmt: skip
    """Destroy what `reviewed` listed that is still due and not held (how many of each, the
    files to remove after the commit); ValueError if it was applied, or is being now."""
    take_turn(session)  # no assessment moves an item while its rows go
    claim = update(RetentionReview).where(RetentionReview.id == reviewed.id,
                                          RetentionReview.applied_at.is_(None))  # fmt: skip
    claimed = session.execute(claim.values(applied_at=now, applied_by=by, reason=reason))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ValueError(f"review {reviewed.id} was applied already")
    keep, done = held(session, retention), Destruction(originals=originals)
    for cls, listed in reviewed.due.items():
        months = retention.months.get(cls)  # type: ignore[call-overload]
        if months is None:
            continue  # no longer in the schedule: kept
        now_due = FINDERS[cls](session, cutoff(now, months), keep)
        found = {t: sorted(set(listed.get(t, [])) & set(i)) for t, i in now_due.items()}
        for part in chunked(found):
            DESTROY[cls](session, part, done)
        done.counts[cls] = sum(len(i) for i in found.values())
    session.execute(update(RetentionReview).where(RetentionReview.id == reviewed.id)
                    .values(destroyed=done.counts))  # fmt: skip
    return done


def chunked(found: Found) -> list[Found]:
    """`found` in parts of at most CHUNK ids a table."""
    longest = max((len(i) for i in found.values()), default=0)
    return [{t: i[start : start + CHUNK] for t, i in found.items()}
            for start in range(0, max(longest, 1), CHUNK)]  # fmt: skip


def by_ids(session: Session, model: Any, found: list[int]) -> None:
    if found:
        session.execute(delete(model).where(model.id.in_(found))
                        .execution_options(synchronize_session=False))  # fmt: skip


def destroy_digests(session: Session, found: Found, done: Destruction) -> None:
    """The bodies go; the ledger's row (who, when, what stage, the outcome) stays."""
    if found["deliveries"]:
        bodies = update(Delivery).where(Delivery.id.in_(found["deliveries"]))
        session.execute(bodies.values(payload={}).execution_options(synchronize_session=False))


def destroy_rows(models: dict[str, Any]) -> Callable[[Session, Found, Destruction], None]:
    def destroy(session: Session, found: Found, done: Destruction) -> None:
        for table, model in models.items():
            by_ids(session, model, found.get(table, []))

    return destroy


def destroy_imports(session: Session, found: Found, done: Destruction) -> None:
    """The history rows and the originals no later import of the same bytes still needs."""
    gone = found["imports"]
    shas = set(session.scalars(select(ImportRecord.sha256).where(ImportRecord.id.in_(gone))))
    by_ids(session, ImportRecord, gone)
    kept = set(session.scalars(select(ImportRecord.sha256).where(ImportRecord.sha256.in_(shas))))
    done.files += [done.originals / sha for sha in sorted(shas - kept)]


def destroy_plans(session: Session, found: Found, done: Destruction) -> None:
    """Closed actions with their items (events and stage history go with them), their
    field history and their leads; then the plans left with no action."""
    actions = found["actions"]
    if actions:
        rows = session.execute(select(Plan.title, Action.ref).join(Action.plan)
                               .where(Action.id.in_(actions)))  # fmt: skip
        keys = [f"{title} {ref}" for title, ref in rows]
        session.execute(delete(Change).where(Change.subject == "action",
                                             Change.subject_key.in_(keys)))  # fmt: skip
        session.execute(delete(Obligation).where(Obligation.action_id.in_(actions))
                        .execution_options(synchronize_session=False))  # fmt: skip
        by_ids(session, Action, actions)
    by_ids(session, Plan, found["plans"])


def destroy_mi_sheets(session: Session, found: Found, done: Destruction) -> None:
    """Sheets past their period with their sessions, items and field history."""
    sheets = found["mi_sheets"]
    if not sheets:
        return
    numbers = list(session.scalars(select(MISheet.number).where(MISheet.id.in_(sheets))))
    session.execute(delete(Change).where(Change.subject == "mi_sheet",
                                         Change.subject_key.in_(numbers)))  # fmt: skip
    for model in (Obligation, BriefingSession):
        session.execute(delete(model).where(model.mi_sheet_id.in_(sheets))
                        .execution_options(synchronize_session=False))  # fmt: skip
    by_ids(session, MISheet, sheets)


DESTROY: dict[str, Callable[[Session, Found, Destruction], None]] = {
    "plans": destroy_plans,
    "mi_sheets": destroy_mi_sheets,
    "sessions": destroy_rows({"briefing_sessions": BriefingSession}),
    "stage_history": destroy_rows({"stage_changes": StageChange}),
    "digests": destroy_digests,
    "sign_in": destroy_rows({"sign_in_links": SignInLink, "sign_in_flows": SignInFlow,
                             "console_sessions": ConsoleSession, "link_uses": LinkUse}),
    "console_actions": destroy_rows({"console_actions": ConsoleAction}),
    "imports": destroy_imports,
}  # fmt: skip


def summary(due: dict[str, Found]) -> list[tuple[str, int]]:
    """(class, how many records) of a review."""
    return [(cls, sum(len(i) for i in found.values())) for cls, found in due.items()]
