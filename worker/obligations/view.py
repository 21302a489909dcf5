"""How an obligation reads to people: the one place that knows a CAP action from an MI sheet
(and from a review's recommendation still without an action).

Digests, feeds, pages and commands show `View` fields and never branch on the kind of item
themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, time
from urllib.parse import quote

from worker.importers.text import is_web_address
from worker.models import (
    ActionStatus,
    BriefingSession,
    MISheet,
    Obligation,
    Recommendation,
    SessionStatus,
)
from worker.templating import long_date, long_day

SUMMARY_TEXT = 60  # characters of an action's text in a calendar summary
RECOMMENDATIONS = "Recommendations"  # the theme of recommendations still without an action


@dataclass(frozen=True)
class SessionView:
    """A briefing session an MI sheet announces, as an item lists it."""

    reference: str
    day: date
    start: time
    end: time
    venue: str
    cancelled: bool

    @property
    def when(self) -> str:
        """ "Monday 20 February 2017, 10:00 to 11:30" (UK time, as the sheets give it)."""
        return f"{long_day(self.day)}, {self.start:%H:%M} to {self.end:%H:%M}"

    @property
    def calendar_path(self) -> str:
        return calendar_path(self.reference)


def calendar_path(reference: str) -> str:
    """Where one session's calendar is served, under the site ("add to calendar")."""
    return f"/feeds/sessions/{quote(reference, safe='')}.ics"


@dataclass(frozen=True)
class View:
    """One obligation as it is shown, built once per row."""

    key: str
    ref: str  # "4.6" or "MI 3/17"
    label: str  # "4.6 (Composite Action Plan 2016)" or "MI 3/17": unique across plans
    source: str  # the plan's title, or the MI sheet's title
    text: str  # the action, whole; what an MI sheet asks ("Book a place on …")
    theme: str  # the action's theme; "MI sheets" for MI sheets
    progress: str  # the latest progress the documents give ("" for MI sheets)
    summary: str  # one line for a calendar: "CAP 4.6 Audit of …", "MI 3/17, Riverside: …"
    identity: str  # what the documents call it, stable across re-imports (for UIDs)
    plan: str | None  # the plan's title, for actions
    withdrawn: bool  # the action was withdrawn from its plan
    unassigned: bool  # no agency in the directory answers to its lead-agency name
    sessions: tuple[SessionView, ...] = ()  # an MI sheet's briefing sessions, in time order
    booking_url: str | None = None  # where an MI sheet says to book them (http or https)


def view_of(row: Obligation) -> View:
    action, sheet = row.action, row.mi_sheet
    if row.recommendation is not None:
        return recommendation_view(row, row.recommendation)
    if action is not None:
        owner = row.agency.name if row.agency else row.lead_name or ""
        text = action.text
        short = text if len(text) <= SUMMARY_TEXT else text[: SUMMARY_TEXT - 1].rstrip() + "…"
        return View(
            key=row.key,
            ref=action.ref,
            label=label_of(row.key, action.ref, action.plan.title, None, None, None),
            source=action.plan.title,
            text=text,
            theme=action.theme,
            progress=action.progress,
            summary=f"CAP {action.ref} {short}",
            identity=f"action|{action.plan.title}|{action.ref}|{owner}",
            plan=action.plan.title,
            withdrawn=action.status is ActionStatus.WITHDRAWN,
            unassigned=row.kind == "unassigned",
        )
    return sheet_view(row, sheet)


def sheet_view(row: Obligation, sheet: MISheet | None) -> View:
    """An MI sheet's item: what the sheet asks, its sessions and where to book them."""
    number = sheet.number if sheet else None
    title = sheet.title if sheet else row.key
    place = row.establishment.name if row.establishment else None
    ref = label_of(row.key, None, None, number, None, None)
    sessions = sessions_of(sheet) if sheet else ()
    return View(
        key=row.key,
        ref=ref,
        label=ref,
        source=sheet.title if sheet else "",
        text=asks_of(sheet, sessions) if sheet else title,
        theme="MI sheets",
        progress="",
        summary=f"MI {number or '?'}{f', {place}' if place else ''}: {title}",
        identity=f"mi|{number or row.key}|{place or 'la'}",
        plan=None,
        withdrawn=False,
        unassigned=row.kind == "unassigned",
        sessions=sessions,
        booking_url=booking_of(sheet),
    )


def sessions_of(sheet: MISheet) -> tuple[SessionView, ...]:
    found = sorted(sheet.sessions, key=lambda s: (s.date, s.start_time, s.reference))
    return tuple(session_view(s) for s in found)


def session_view(row: BriefingSession) -> SessionView:
    cancelled = row.status is SessionStatus.CANCELLED
    return SessionView(row.reference, row.date, row.start_time, row.end_time, row.venue, cancelled)


def asks_of(sheet: MISheet, sessions: tuple[SessionView, ...]) -> str:
    """What the sheet asks of a school, from what it holds: its sessions and its date,
    never a date it does not give."""
    by = f" by {long_date(sheet.due_date)}" if sheet.due_date else ""
    if all(s.cancelled for s in sessions):  # none, or none still on
        return f"Read the sheet and confirm it has been actioned{by}"
    return f"Book a place on one of these sessions{by}{places(sheet.delegate_limit)}"


def places(limit: int | None) -> str:
    if limit is None:
        return ""
    return f" (limited to {limit} delegate{'' if limit == 1 else 's'} per school)"


def booking_of(sheet: MISheet | None) -> str | None:
    """The sheet's booking address, if it is a web address (never javascript: or data:)."""
    url = sheet.booking_url if sheet else None
    return url if url and is_web_address(url) else None


def label_of(key: str, ref: str | None, plan: str | None, number: str | None,
             recommendation: int | None, review: str | None) -> str:  # fmt: skip
    """The label alone, from the few columns it needs (the daily run reads no more)."""
    if recommendation is not None:
        return f"Recommendation {recommendation} of {review}"
    if ref is not None:
        return f"{ref} ({plan})"
    return f"MI {number}" if number else key


def recommendation_view(row: Obligation, found: Recommendation) -> View:
    """'Recommendation 3 of Case A1 has no action yet': the business manager's to answer."""
    ref = f"Rec {found.number} ({found.review})"
    return View(
        key=row.key,
        ref=ref,
        label=label_of(row.key, None, None, None, found.number, found.review),
        source=f"Learning briefing: {found.review}",
        text=f"Recommendation {found.number} of {found.review} has no action yet: {found.text}",
        theme=RECOMMENDATIONS,
        progress="",
        summary=f"{ref}: no action yet",
        identity=f"recommendation|{found.review}|{found.number}",
        plan=None,
        withdrawn=found.withdrawn,
        unassigned=False,
    )


def uid(view: View, domain: str) -> str:
    """A calendar UID for the item, stable across re-imports and rebuilds."""
    return f"deadline-{hashlib.sha256(view.identity.encode()).hexdigest()[:24]}@{domain}"
