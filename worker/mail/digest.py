"""Digests: one message per person, covering every item the engine says they must hear about.

Pure: built from the sweep's assessments and the dates given; no clock, no database, no mail.
A digest is plain data (JSON-ready) so that the delivery ledger can store exactly what was
planned and send the same message on every attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from worker.directory.recipients import Person, Recipient
from worker.obligations import Assessment, SessionView

KIND = "digest"
LISTS = ("items", "resolved", "undelivered", "attention")  # a digest's parts


@dataclass(frozen=True)
class Briefing:
    """A session the item's MI sheet announces, as the digest lists it."""

    reference: str
    date: str  # ISO date
    when: str  # "Monday 20 February 2017, 10:00 to 11:30"
    venue: str
    cancelled: bool = False
    # Its own calendar ("add to calendar", worker/feeds/public.py), added with the links.
    calendar_url: str = ""

    @classmethod
    def of(cls, found: SessionView) -> Briefing:
        return cls(found.reference, found.day.isoformat(), found.when, found.venue,
                   found.cancelled)  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One obligation as one recipient reads it."""

    key: str
    ref: str  # "4.6" or "MI 3/17"
    source: str  # the plan's title, or the MI sheet's title
    text: str  # the action, whole (the text part shortens it)
    theme: str  # one of the four themes; "MI sheets" for MI sheets
    owner: str  # the lead agency, establishment or LA contact
    target_date: str | None  # ISO date
    stage: int
    stage_name: str
    working_days_overdue: int
    progress: str
    why: str  # why this person is told: "copied as line manager of …"
    unassigned: bool = False
    paused_until: str | None = None
    # Signed one-click links (worker/mail/links.py), added when the digest is planned; empty in
    # the resolved section and in digests planned before links existed.
    acknowledge_url: str = ""
    complete_url: str = ""
    # The item's page in the console (sign-in needed); added with the links above.
    console_url: str = ""
    # An MI sheet's sessions, and where the sheet says to book them.
    sessions: tuple[Briefing, ...] = ()
    booking_url: str = ""
    # The day its ladder started, when it came in overdue with a plan the partnership already
    # had (its overdue days count from then; its target date stays as written).
    started_on: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "sessions": [dict(vars(s)) for s in self.sessions]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        # Digests planned before sessions were listed have none.
        sessions = tuple(Briefing(**s) for s in data.get("sessions", ()))
        return cls(**{**data, "sessions": sessions})


@dataclass(frozen=True)
class Undelivered:
    """A digest the mail server refused for good, reported to the business manager."""

    recipient: str
    period: str
    reason: str


@dataclass(frozen=True)
class Attention:
    """Something only the business manager can put right: an item that could not be
    assessed, an MI sheet's LA contact missing from the directory."""

    subject: str  # "4.6 (Composite Action Plan …)", "MI 3/17"
    problem: str
    since: str  # ISO date it was first seen


@dataclass(frozen=True)
class Digest:
    name: str
    email: str
    period: str  # ISO date of the send window
    partnership: str
    items: tuple[Item, ...]
    resolved: tuple[Item, ...] = ()
    undelivered: tuple[Undelivered, ...] = ()
    attention: tuple[Attention, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain data for the ledger (each part a record of strings and numbers; an item's
        sessions a list of such records)."""
        data = dict(vars(self))
        for name in LISTS:
            data[name] = [p.to_json() if isinstance(p, Item) else dict(vars(p)) for p in data[name]]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        return cls(
            **{k: v for k, v in data.items() if k not in LISTS},
            items=tuple(Item.from_json(i) for i in data["items"]),
            resolved=tuple(Item.from_json(i) for i in data["resolved"]),
            undelivered=tuple(Undelivered(**u) for u in data["undelivered"]),
            # Digests planned before this section existed have none.
            attention=tuple(Attention(**a) for a in data.get("attention", ())),
        )


@dataclass
class Inbox:
    """What one recipient has to hear about, gathered across all obligations."""

    recipient: Recipient
    items: list[Item] = field(default_factory=list)
    resolved: list[Item] = field(default_factory=list)
    reminder_today: bool = False


def item_for(found: Assessment, recipient: Recipient) -> Item:
    view, d = found.view, found.decision
    why = recipient.reason if recipient.role == "named_contact" else f"copied as {recipient.reason}"
    return Item(
        key=view.key,
        ref=view.ref,
        source=view.source,
        text=view.text,
        theme=view.theme,
        owner=found.owner.label,
        target_date=d.target.isoformat() if d.target else None,
        stage=d.stage,
        stage_name=d.stage_name,
        working_days_overdue=d.working_days_overdue,
        progress=view.progress,
        why=why,
        unassigned=d.flagged_unassigned,
        paused_until=d.paused_until.isoformat() if d.paused_until else None,
        sessions=tuple(Briefing.of(s) for s in view.sessions),
        booking_url=view.booking_url or "",
        started_on=d.started_on.isoformat() if d.started_on else None,
    )


def gather(open_items: Iterable[Assessment], resolved: Iterable[Assessment]) -> dict[str, Inbox]:
    """Every recipient's inbox: open items at stage 0 or above, and items just resolved."""
    inboxes: dict[str, Inbox] = {}
    for found in open_items:
        if found.decision.stage < 0 and not found.decision.flagged_unassigned:
            continue
        for person in found.recipients:
            inbox = inboxes.setdefault(person.email, Inbox(person))
            inbox.items.append(item_for(found, person))
            inbox.reminder_today |= found.decision.reminder_today
    for found in resolved:
        for person in found.recipients:
            inboxes.setdefault(person.email, Inbox(person)).resolved.append(item_for(found, person))
    return inboxes


def covered(inboxes: dict[str, Inbox], cover: Mapping[str, Person]) -> dict[str, Inbox]:
    """The inbox of each person away goes to whoever covers for them (into their own inbox,
    if they have one), each item saying whom it is for."""
    found: dict[str, Inbox] = {}
    for email, inbox in inboxes.items():
        delegate = cover.get(email.lower())
        if delegate is None:
            mine = found.setdefault(email, Inbox(inbox.recipient))
            mine.recipient = inbox.recipient
            mine.items = [*inbox.items, *unseen(inbox.items, mine.items)]
            mine.resolved = [*inbox.resolved, *unseen(inbox.resolved, mine.resolved)]
            mine.reminder_today |= inbox.reminder_today
            continue
        away, address = inbox.recipient, delegate.email.lower()
        instead = Recipient(delegate.name, address, "delegate", f"covering for {away.name}")
        theirs = found.setdefault(address, Inbox(instead))
        note = f"covering for {away.name} ({away.email})"
        theirs.items += unseen(theirs.items, [replace(i, why=f"{note}: {i.why}")
                                              for i in inbox.items])  # fmt: skip
        theirs.resolved += unseen(theirs.resolved, [replace(i, why=f"{note}: {i.why}")
                                                    for i in inbox.resolved])  # fmt: skip
        theirs.reminder_today |= inbox.reminder_today
    return found


def unseen(have: Sequence[Item], more: Iterable[Item]) -> list[Item]:
    """The items of `more` not already among `have` (by key): an item told once a digest,
    under its own reason, even to a delegate who also hears of it in their own right."""
    keys = {i.key for i in have}
    return [i for i in more if i.key not in keys]


def ordered(items: Sequence[Item]) -> tuple[Item, ...]:
    """Worst first: highest stage, then most overdue, then by theme and reference."""
    return tuple(sorted(items, key=lambda i: (-i.stage, -i.working_days_overdue, i.theme, i.ref)))


def digest_for(inbox: Inbox, period: date, partnership: str,
               undelivered: Sequence[Undelivered] = (),
               attention: Sequence[Attention] = ()) -> Digest:  # fmt: skip
    person = inbox.recipient
    return Digest(
        name=person.name,
        email=person.email,
        period=period.isoformat(),
        partnership=partnership,
        items=ordered(inbox.items),
        resolved=ordered(inbox.resolved),
        undelivered=tuple(undelivered),
        attention=tuple(attention),
    )


@dataclass(frozen=True)
class Cadence:
    """When a recipient's digest is due (the business manager's `digests` rules)."""

    daily_from_stage: int
    week_start: date  # the first working day of the period's week
    daily: frozenset[str] = frozenset()  # addresses that asked for a daily digest

    def due(self, inbox: Inbox, last_sent: date | None, changed_since_last: bool) -> bool:
        """Daily for serious items or news, or for someone who asked; otherwise weekly, on
        the week's first working day or, after downtime, at the first send window that week."""
        if not inbox.items and not inbox.resolved:
            return False
        if inbox.resolved or inbox.reminder_today or changed_since_last:
            return True
        if inbox.recipient.email.lower() in self.daily:
            return True
        if any(i.stage >= self.daily_from_stage or i.unassigned for i in inbox.items):
            return True
        return last_sent is None or last_sent < self.week_start
