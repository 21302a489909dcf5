"""What an import would do, row by row, from the values its dry run set (`FieldChange`s):
new actions and sessions with their values, changed ones field by field (old → new),
actions withdrawn, sessions moved (with the sequence number calendars will see) or
cancelled. The command line prints it; the console shows it before anything is stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from worker.history import shown
from worker.importers.store import FieldChange

LABELS = {
    "theme": "Theme", "scr_refs": "SCR Ref", "text": "Action", "lead_agency_text": "Lead agency",
    "target_date": "Target date", "progress": "Progress", "rag": "RAG", "status": "Status",
    "date_to_set": "Date to set", "title": "Title", "sheet_type": "Type",
    "due_date": "To Be Completed By", "published_at": "Published", "contact_name": "LA contact",
    "contact_phone": "Phone", "contact_email": "E-mail", "audience": "Audience",
    "links": "Links", "delegate_limit": "Delegate limit", "booking_url": "Booking",
    "date": "Date", "start_time": "Start", "end_time": "End", "venue": "Venue",
    "sequence": "Sequence",
}  # fmt: skip
HIDDEN = frozenset({"source_file", "origin", "mi_sheet_id", "created"})
WHEN_WHERE = frozenset({"date", "start_time", "end_time", "venue"})
SUBJECTS = {"action": "action", "mi_sheet": "MI sheet", "session": "session"}


@dataclass(frozen=True)
class Shown:
    label: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Entry:
    """One row an import creates or changes."""

    what: str  # new, changed, withdrawn, cancelled, moved
    subject: str  # action, MI sheet, session
    key: str
    fields: tuple[Shown, ...]


def entries(changes: Iterable[FieldChange]) -> list[Entry]:
    """The rows `changes` touch, in the order the import reached them."""
    rows: dict[tuple[str, str], list[FieldChange]] = {}
    for change in changes:
        rows.setdefault((change.subject, change.key), []).append(change)
    return [entry(subject, key, found) for (subject, key), found in rows.items()]


def entry(subject: str, key: str, changes: list[FieldChange]) -> Entry:
    fields = tuple(
        Shown(LABELS.get(c.field, c.field), written(c.old), written(c.new))
        for c in changes
        if c.field not in HIDDEN and not (c.old is None and c.new in (None, "", []))
    )
    return Entry(what(changes), SUBJECTS.get(subject, subject), key, fields)


def written(value: object) -> str | None:
    """A value as the preview shows it; an empty one says so."""
    text = shown(value)
    return "(empty)" if text == "" else text


def what(changes: list[FieldChange]) -> str:
    names = {c.field for c in changes}
    if "created" in names:
        return "new"
    status = next((str(c.new) for c in changes if c.field == "status"), "")
    if status in ("withdrawn", "cancelled"):
        return status
    if names & WHEN_WHERE and "sequence" in names:
        return "moved"
    return "changed"
