"""Briefing sessions an MI sheet announces in sentences rather than in a table:

    Tuesday 11th March 2014 - 9.30am-11.30am - Green Britain Centre, Swaffham, PE37 7HP
    23rd March 2015 - 09.30 to 13.00 - County Hall
    The briefing is on Friday 11 July at County Hall, Norwich: 9:30 - 11:30 and 2:00 - 4:00

(with hyphens or en or em dashes). A line with a time range (minutes or am/pm on one side
at least) is a session line. Its date is on the line or on one of the few lines of its
paragraph above it; a date written without its year takes the sheet's publication year
(the next year when that would put it before the publication). Its
venue follows the last time range after a dash or comma, or is named with "at …" before the
times. Each time range is one session, known without a course code by the sheet, the date
and the start time. A session line that lacks a date or a venue is returned as unread, so
that the import names it: a sheet never loses a session silently.
"""

from __future__ import annotations

import re
from datetime import date

from worker.importers.documents import ParsedSession
from worker.importers.errors import DocumentError, refuse
from worker.importers.text import TIME_RANGE, one_line, parse_day_first, parse_time_range
from worker.importers.text import parse_written_date as written

MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
DAY = re.compile(
    rf"(?:{WEEKDAY},?\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}(?:,?\s+(\d{{4}}))?"
    rf"|\d{{1,2}}/\d{{1,2}}/(?:\d{{4}}|\d{{2}})",
    re.I,
)
TIMES = re.compile(TIME_RANGE)
AT = re.compile(r"\bat\s+((?:the\s+)?[A-Z][^:;\u2013\u2014]*?)\s*(?:[:;\u2013\u2014]|$)")
LEAD = re.compile(r"^(?:[\s,;:\-\u2013\u2014]|at\s|in\s)+", re.I)
LOOK_BACK = 3  # lines above a session line where its date may be written

Unread = tuple[int, str]  # the line number and its text


def prose_sessions(
    lines: list[str], sheet: str, published: date | None
) -> tuple[list[ParsedSession], list[Unread]]:
    """Every session the sheet's sentences announce, and the session lines it could not read."""
    found: list[ParsedSession] = []
    unread: list[Unread] = []
    for index, line in enumerate(lines):
        times = session_times(line)
        if not times:
            continue
        number = index + 1
        try:
            day = session_day(lines, index, published)
            venue = session_venue(line, times[-1])
            found += [session(m, day, venue, sheet, number) for m in times]
        except DocumentError:
            unread.append((number, one_line(line)[:200]))
    return found, unread


def session_times(line: str) -> list[re.Match[str]]:
    """The time ranges of a line, outside its dates: "9.30am-11.30am", "09.30 to 13.00"."""
    masked = DAY.sub(lambda m: " " * len(m.group(0)), line)
    return [m for m in TIMES.finditer(masked) if any(m.group(g) for g in (2, 3, 5, 6))]


def session_day(lines: list[str], index: int, published: date | None) -> date:
    """The date on the session's line, or above it in its paragraph, up to a line of
    other sessions (whose date that is)."""
    for back, line in enumerate(reversed(lines[max(0, index - LOOK_BACK) : index + 1])):
        if back and (not line.strip() or session_times(line)):
            break
        if (match := DAY.search(line)) is not None:
            return day_of(match, index + 1, published)
    raise refuse("no date on the line or just above it", index + 1)


def day_of(match: re.Match[str], line: int, published: date | None) -> date:
    text = match.group(0)
    if "/" in text:
        return parse_day_first(text, line, "Date")
    if match.group(1) is not None:
        return written(text, line, "Date")
    if published is None:
        raise refuse("a date without its year on a sheet with no publication date", line)
    bare = re.sub(rf"^{WEEKDAY},?\s+", "", text, flags=re.I)  # its weekday checked below
    year = published.year + (written(f"{bare} {published.year}", line, "Date") < published)
    return written(f"{text} {year}", line, "Date")


def session_venue(line: str, last: re.Match[str]) -> str:
    after = LEAD.sub("", line[last.end() :]).strip().rstrip(".")
    if after and not after.lower().startswith("and"):
        return one_line(after)
    if (named := AT.search(line[: last.start()])) is not None:
        return one_line(named.group(1).rstrip(",."))
    raise refuse("no venue after the times or named with 'at'")


def session(match: re.Match[str], day: date, venue: str, sheet: str, line: int) -> ParsedSession:
    start, end = parse_time_range(match, line, "Time")
    reference = f"MI{sheet.replace('/', '-')}-{day:%Y%m%d}-{start:%H%M}"
    return ParsedSession(reference, day, start, end, venue, line)
