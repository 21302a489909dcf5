"""MI sheets: the header fields, the LA contact, and the table of briefing sessions.

The sheets reach us as text saved from a web page or Word, where labels and values, and the
cells of a table row, are often run together ("MI Sheet TypeAction", "Monday 20 February
201710:00 to 11:30 amNorwich Professional Development CentreTLS-0217-T035"). Tab-separated
rows are split on the tabs; run-together rows are split by the shape of each cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from worker.importers.documents import ParsedSession, ParsedSheet
from worker.importers.errors import refuse
from worker.importers.prose_sessions import Unread, prose_sessions
from worker.importers.text import (
    TIME_RANGE,
    number_in_words,
    one_line,
    parse_day_first,
    parse_day_first_datetime,
    parse_time_range,
    parse_written_date,
)

MARKER = re.compile(r"^\s*Management\s+Information\s+Sheet\s*$", re.I)
LABELS = {
    "type": r"MI\s*Sheet\s*Type",
    "due": r"To\s*Be\s*Completed\s*By",
    "number": r"MI\s*Number",
    "published": r"Publication\s*Date",
    "contact": r"LA\s*Contact",
    "audience": r"Audience",
    "links": r"Links?",
}
FIELD_NAMES = {
    "type": "MI Sheet Type",
    "due": "To Be Completed By",
    "number": "MI Number",
    "published": "Publication Date",
    "contact": "LA Contact",
    "audience": "Audience",
    "links": "Links",
}
SHEET_TYPES = {"action": "Action", "cpd": "CPD", "information": "Information"}
NUMBER = re.compile(r"\d{1,4}/\d{2}")
TABLE_HEADER = re.compile(r"^\s*Date\s*Time\s*Venue\s*(Reference|Course\s*Code)\s*$", re.I)
WRITTEN_DATE = r"(?:[A-Za-z]+,?\s+)?\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]+,?\s+\d{4}"
NUMERIC_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
ROW_START = re.compile(rf"\s*(?:{WRITTEN_DATE}|{NUMERIC_DATE})")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.I)
BOOKING = re.compile(r"\b(book|reserve|register)", re.I)
DELEGATES = re.compile(r"limited\s+to\s+(\w+)\s+delegate", re.I)


@dataclass(frozen=True)
class Field:
    value: str
    line: int


def looks_like_mi_sheet(lines: list[str]) -> bool:
    """The 'Management Information Sheet' heading, or an MI Number field (a sheet that lost
    its heading); other labels alone ("Audience: …", "Links …") appear in any document."""
    return any(MARKER.match(line) for line in lines[:40]) or "number" in header_fields(lines)


def parse_mi_sheet(lines: list[str], course_code: str, tz: ZoneInfo) -> ParsedSheet:
    fields = header_fields(lines)
    if "number" not in fields:
        raise refuse("no MI Number: an MI sheet must carry one, such as 'MI Number: 3/17'")
    number = sheet_number(fields["number"])
    contact_name, contact_phone = contact(fields.get("contact"))
    body = lines
    when = published(fields.get("published"), tz)
    found, unread = sessions(lines, course_code, number, when.date() if when else None)
    return ParsedSheet(
        number=number,
        title=title(lines, fields),
        sheet_type=sheet_type(fields.get("type")),
        due_date=due_date(fields.get("due")),
        published_at=when,
        contact_name=contact_name,
        contact_phone=contact_phone,
        contact_email=contact_email(body, contact_name),
        audience=one_line(fields["audience"].value) if "audience" in fields else None,
        links=links(fields.get("links")),
        delegate_limit=delegate_limit(body),
        booking_url=booking_url(body),
        sessions=found,
        unread=tuple(f"line {line}: {text}" for line, text in unread),
        due_line=fields["due"].line if "due" in fields else None,
        published_line=fields["published"].line if "published" in fields else None,
    )


def header_fields(lines: list[str]) -> dict[str, Field]:
    """The first occurrence of each labelled field ("MI Number:3/17"), with its line."""
    found: dict[str, Field] = {}
    for number, line in enumerate(lines, start=1):
        for key, label in LABELS.items():
            match = re.match(rf"^\s*{label}\s*:?\s*(.*)$", line, re.I)
            if key not in found and match and len(line) < 300:
                found[key] = Field(match.group(1).strip(), number)
                break
    return found


def title(lines: list[str], fields: dict[str, Field]) -> str:
    """The first line of substance after the 'Management Information Sheet' marker."""
    field_lines = {f.line for f in fields.values()}
    first_field = min(field_lines)
    marker = next((n for n, line in enumerate(lines[:first_field], 1) if MARKER.match(line)), 0)
    for number, line in enumerate(lines[marker : first_field - 1], start=marker + 1):
        if line.strip() and number not in field_lines:
            return one_line(line)
    raise refuse("no title before the header fields", first_field)


def sheet_number(field: Field) -> str:
    value = one_line(field.value)
    if not NUMBER.fullmatch(value):
        raise refuse("expected a number such as 3/17", field.line, "MI Number", field.value)
    return value


def sheet_type(field: Field | None) -> str:
    if field is None:
        raise refuse("no MI Sheet Type (Action, CPD or Information)")
    found = SHEET_TYPES.get(one_line(field.value).lower())
    if found is None:
        reason = "unknown type: expected Action, CPD or Information"
        raise refuse(reason, field.line, "MI Sheet Type", field.value)
    return found


def due_date(field: Field | None) -> date | None:
    if field is None or not field.value:
        return None
    return parse_day_first(field.value, field.line, "To Be Completed By")


def published(field: Field | None, tz: ZoneInfo) -> datetime | None:
    if field is None or not field.value:
        return None
    local = parse_day_first_datetime(field.value, field.line, "Publication Date")
    return local.replace(tzinfo=tz)


def contact(field: Field | None) -> tuple[str | None, str | None]:
    """'Daniel Halls (01603 729198)' → name and phone."""
    if field is None or not field.value:
        return None, None
    match = re.fullmatch(r"(.*?)\s*\(([+\d][\d\s-]{5,})\)\s*", field.value)
    if match is None:
        return one_line(field.value), None
    return one_line(match.group(1)), one_line(match.group(2))


def contact_email(lines: list[str], name: str | None) -> str | None:
    """The e-mail the body gives for the LA contact: on a line naming them, else one
    whose address contains their surname."""
    if not name:
        return None
    surname = name.split()[-1].lower()
    candidates = [(line, m.group(0).rstrip(".")) for line in lines for m in EMAIL.finditer(line)]
    for line, address in candidates:
        if name.lower() in line.lower():
            return address
    return next((a for _, a in candidates if surname in a.lower()), None)


def links(field: Field | None) -> tuple[str, ...]:
    if field is None:
        return ()
    return tuple(normalise_url(u) for u in URL.findall(field.value))


def normalise_url(url: str) -> str:
    url = url.rstrip(".,;)")
    return url if re.match(r"https?://", url, re.I) else f"https://{url}"


def booking_url(lines: list[str]) -> str | None:
    for line in lines:
        match = URL.search(line)
        if match and BOOKING.search(line):
            return normalise_url(match.group(0))
    return None


def delegate_limit(lines: list[str]) -> int | None:
    for line in lines:
        match = DELEGATES.search(line)
        if match:
            return number_in_words(match.group(1))
    return None


def sessions(
    lines: list[str], course_code: str, sheet: str, published: date | None
) -> tuple[tuple[ParsedSession, ...], list[Unread]]:
    """Every row of every 'Date Time Venue Reference' table in the sheet; or, in a sheet
    without one, the sessions its sentences announce and the session lines not read."""
    found: list[ParsedSession] = []
    tables = False
    for index, line in enumerate(lines):
        if TABLE_HEADER.match(line):
            tables = True
            rows = table_rows(lines, index + 1)
            if not rows:
                raise refuse("a session table header with no rows under it", index + 1)
            found += [session_row(text, number, course_code) for number, text in rows]
    if tables:
        return tuple(found), []
    prose, unread = prose_sessions(lines, sheet, published)
    return tuple(prose), unread


def table_rows(lines: list[str], start: int) -> list[tuple[int, str]]:
    """The rows under a table header: up to the first blank line after a row, or the first
    line after a row that is not one (a sentence under the table is the sheet's text)."""
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if rows and not looks_like_row(line):
            break
        if line.strip():
            rows.append((number, line))
    return rows


def looks_like_row(line: str) -> bool:
    """A line that starts with a date, or has a table row's four cells: a session row, well
    formed or not (a malformed one is refused, never taken for prose)."""
    return bool(ROW_START.match(line)) or len(cells_of(line)) == 4


def cells_of(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"\t|\s{3,}", text.strip()) if c.strip()]


def session_row(text: str, line: int, course_code: str) -> ParsedSession:
    cells = cells_of(text)
    if len(cells) == 4:
        day, times, venue, reference = cells
    else:
        day, times, venue, reference = split_glued_row(text.strip(), line, course_code)
    match = re.fullmatch(TIME_RANGE, times.strip())
    if match is None:
        raise refuse("expected a time range such as 10:00 to 11:30", line, "Time", times)
    start, end = parse_time_range(match, line, "Time")
    return ParsedSession(
        reference=one_line(reference),
        date=parse_written_date(day, line, "Date"),
        start=start,
        end=end,
        venue=one_line(venue),
        line=line,
    )


def split_glued_row(text: str, line: int, course_code: str) -> tuple[str, str, str, str]:
    """Date, time, venue and reference of a row whose cells were run together."""
    day = re.match(rf"({WRITTEN_DATE}|{NUMERIC_DATE})", text)
    if day is None:
        raise refuse("a session row must start with its date", line, "Date", text)
    rest = text[day.end() :]
    times = re.match(rf"\s*{TIME_RANGE}", rest)
    if times is None:
        raise refuse("no time range after the date", line, "Time", rest[:40])
    rest = rest[times.end() :]
    reference = re.search(rf"({course_code})\s*$", rest)
    if reference is None:
        reason = f"no course reference matching {course_code} at the end of the row"
        raise refuse(reason, line, "Reference", rest)
    venue = rest[: reference.start()]
    if not venue.strip():
        raise refuse("no venue between the time and the reference", line, "Venue", rest)
    return day.group(0), times.group(0), venue, reference.group(1)
