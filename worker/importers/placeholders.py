"""Dates no real deadline has: spreadsheet stand-ins such as 31/12/9999 or 01/01/1900.

A placeholder imported as a target date would be escalated as if it were real (or, at the
far ends of the calendar, could not be worked out at all), so it is refused with the line
it is on and a hint: an action without a deadline is written "Ongoing".

The plausible range runs from 1 January 2000 to ten years after the document's own date: an
MI sheet's publication date, or the day of the import for documents that carry none.
"""

from __future__ import annotations

from datetime import date

from worker.importers.documents import Parsed, ParsedPlan, ParsedSessionList, ParsedSheet
from worker.importers.errors import refuse

EARLIEST = date(2000, 1, 1)
HORIZON_YEARS = 10
ONGOING_HINT = "; if it has no deadline, write 'Ongoing'"


def latest(around: date) -> date:
    """Ten years after `around` (28 February for a 29 February that has no match)."""
    try:
        return around.replace(year=around.year + HORIZON_YEARS)
    except ValueError:
        return around.replace(year=around.year + HORIZON_YEARS, day=28)


def check(day: date, around: date, line: int | None, field: str, hint: str = "") -> None:
    if EARLIEST <= day <= latest(around):
        return
    limit = "before 2000" if day < EARLIEST else f"more than ten years after {written(around)}"
    reason = f"looks like a placeholder, not a real date ({limit}){hint}"
    raise refuse(reason, line, field, written(day))


def written(day: date) -> str:
    """01/01/0001, as a document would write it (strftime drops a year's leading zeros)."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def check_dates(parsed: Parsed, today: date) -> None:
    """Refuse the document if any of its dates is a placeholder."""
    if isinstance(parsed, ParsedPlan):
        for action in parsed.actions:
            if action.target_date is not None:
                check(action.target_date, today, action.line, "Target date", ONGOING_HINT)
    elif isinstance(parsed, ParsedSheet):
        around = parsed.published_at.date() if parsed.published_at else today
        if parsed.published_at is not None:
            check(around, today, parsed.published_line, "Publication Date")
        if parsed.due_date is not None:
            check(parsed.due_date, around, parsed.due_line, "To Be Completed By", ONGOING_HINT)
        for session in parsed.sessions:
            check(session.date, around, session.line, "Date")
    elif isinstance(parsed, ParsedSessionList):
        for _, session in parsed.sessions:
            check(session.date, today, session.line, "date")
