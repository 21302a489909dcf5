"""The one way anything happens to an obligation, whoever makes it happen.

The business manager's commands, the links in a digest, document imports and the console
all call `record_event`, so the rules below hold wherever an event comes from:

* acknowledged: needs a progress note; pauses the ladder (within the limit per stage);
* noted: a progress note, kept in the record; the ladder does not notice it;
* completed: ends the escalation; an item already complete cannot be completed again;
* retargeted: needs the new date; the ladder restarts from it, and a resolved item is open
  again;
* reopened: only a completed item; the ladder restarts from the reopening day;
* reassigned: moves an action's obligation to another agency, whose people are told from
  then on; its stage and history stay;
* ladder_started: an import brought the item in overdue and chose to start its ladder on
  the import day (`new_target`), its first step entering `stage`; only on a new item.
* escalated: someone asked for the item to go up to `stage` now (the reason is needed): that
  stage is entered at the event's moment `at`, every stage below it too; only upwards, so
  nothing is ever taken back by it (a retarget restarts the ladder, in the record).
* deadline_met: someone says a deadline within the item's stage was met; its note is the
  deadline's name, as the rules write it.

Acknowledging, noting and completing an item that is complete are refused with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from worker.models import Agency, Obligation, ObligationEvent

DOCUMENT = "document"  # `by` of the events an import makes
KINDS = (
    "acknowledged",
    "noted",
    "completed",
    "retargeted",
    "reopened",
    "reassigned",
    "ladder_started",
    "escalated",
    "deadline_met",
)


class EventRefusedError(Exception):
    """The event cannot happen to this obligation now; the message says why."""


def record_event(
    row: Obligation,
    kind: str,
    on: date,
    by: str,
    note: str = "",
    new_target: date | None = None,
    agency: Agency | None = None,
    stage: int | None = None,
    at: datetime | None = None,
) -> ObligationEvent:
    """Record `kind` on `row` (on a local date, by an address or DOCUMENT), with what it
    changes on the row; EventRefusedError, and nothing changed, when the rules forbid it."""
    refusal = refused(row, kind, note, new_target, agency) or escalation_refusal(row, kind, stage)
    if refusal:
        raise EventRefusedError(f"{row.key}: {refusal}")
    if kind in ("retargeted", "reopened"):
        row.resolved_on = None
    if kind == "reassigned" and agency is not None:
        before = row.agency.name if row.agency else row.lead_name or "nobody"
        note = note or f"reassigned from {before} to {agency.name}"
        row.agency, row.kind, row.lead_name = agency, reassigned_kind(row), None
    event = ObligationEvent(on=on, kind=kind, note=note, new_target=new_target, by=by,
                            stage=stage, at=at)  # fmt: skip
    row.events.append(event)
    row.pending = True  # assessed again by `stages.record`, at once or by the next daily run
    return event


def refused(
    row: Obligation, kind: str, note: str, new_target: date | None, agency: Agency | None
) -> str | None:
    """Why the event may not be recorded, or None."""
    if kind not in KINDS:
        return f"unknown event {kind!r} (known: {', '.join(KINDS)})"
    acting = ("acknowledged", "noted", "completed", "reassigned", "escalated", "deadline_met")
    if kind in acting and completed(row):
        return "already complete"
    if kind in ("acknowledged", "noted") and not note.strip():
        return "a progress note is needed"
    if kind == "escalated" and not note.strip():
        return "the reason for escalating is needed"
    if kind == "deadline_met" and not note.strip():
        return "the name of the deadline met is needed"
    dated = kind in ("retargeted", "ladder_started")
    if dated != (new_target is not None):
        return "a new target date is needed" if dated else "only a retarget has one"
    if kind == "ladder_started" and row.events:
        return "a ladder starts only on a new item"
    if kind == "reopened" and not completed(row):
        return "not complete, so there is nothing to reopen"
    if kind == "reassigned":
        return reassign_refusal(row, agency)
    return None


def escalation_refusal(row: Obligation, kind: str, stage: int | None) -> str | None:
    """An escalation goes up, never down or sideways: de-escalation is never silent."""
    if kind != "escalated":
        return None
    if stage is None:
        return "the stage to escalate to is needed"
    if stage <= row.stage:
        return (f"already at stage {row.stage}: an escalation only goes up (to start again "
                "lower, retarget it: the ladder restarts, in the record)")  # fmt: skip
    return None


def reassign_refusal(row: Obligation, agency: Agency | None) -> str | None:
    if row.action_id is None:
        return "only a CAP action's obligation can be reassigned to an agency"
    if agency is None:
        return "the agency to reassign it to is needed"
    current = row.agency.id if row.agency is not None else row.agency_id
    if current == agency.id:
        return f"already with {agency.name}"
    return None


def reassigned_kind(row: Obligation) -> str:
    dated = row.action is not None and row.action.target_date is not None
    return "action" if dated or row.action is None else "ongoing_review"


def completed(row: Obligation) -> bool:
    """Completed by the latest event that restarts or ends the ladder."""
    return ends_completed(e.kind for e in row.events)


def ends_completed(kinds: Iterable[str]) -> bool:
    """Of these event kinds, in order, the last that restarts or ends the ladder completes."""
    ending = [k for k in kinds if k in ("completed", "retargeted", "reopened")]
    return bool(ending) and ending[-1] == "completed"


def last_event(row: Obligation) -> ObligationEvent | None:
    return row.events[-1] if row.events else None
