"""Reading document text and the small values found in it: dates, times, numbers, links.

Numeric dates are strictly day-first, as every document of the partnership writes them: a
date that only makes sense month-first (01/13/17) is refused, never quietly swapped.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from urllib.parse import urlsplit

from dateutil import parser as dateparser

from worker.importers.errors import DocumentError, refuse

MAX_BYTES = 5 * 1024 * 1024
# Every character that some program treats as a line break, plus the other C0/C1 controls.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Characters that change how text around them is shown without being seen themselves: the
# bidirectional embeddings, overrides and isolates (a name that reads backwards), and the
# zero-width spaces and joiners (two names that look alike but do not match).
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+")
_SPACES = re.compile(r"\s+")
_NUMERIC_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})")
# The same with dots or dashes, which dateutil would read month-first when day-first fails.
_OTHER_NUMERIC = re.compile(r"\d{1,2}([.-])\d{1,2}\1(\d{2}|\d{4})")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBER_WORDS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


def check_size(data: bytes) -> None:
    """Refuses an empty or oversized document."""
    if len(data) > MAX_BYTES:
        raise refuse(f"too large ({len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // 10**6} MB)")
    if not data.strip():
        raise refuse("the file is empty")


def text_lines(data: bytes) -> list[str]:
    """A text document's lines, whatever its line endings; refuses binary content."""
    if b"\x00" in data:
        raise refuse("not a text document (binary content)")
    text = decode(data)
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark); Windows-1252 only for a file that is not
    UTF-8 at all, as documents saved from Word on Windows are. A UTF-8 file with a stray
    byte is refused: read as Windows-1252 it would garble every accented name in it."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not _has_utf8_sequences(body):
            return data.decode("cp1252", errors="replace")
        offset = exc.start + len(data) - len(body)
        line = data.count(b"\n", 0, offset) + 1
        bad = f"0x{data[offset]:02X}"
        reason = (
            f"not valid UTF-8: byte {bad} at byte offset {offset} breaks a file that is "
            "otherwise UTF-8; save it again as UTF-8"
        )
        raise refuse(reason, line, value=bad) from exc


def _has_utf8_sequences(data: bytes) -> bool:
    """True when some non-ASCII text in `data` is well-formed UTF-8."""
    text = data.decode("utf-8", errors="replace")
    return any(ord(c) > 127 and c != "\ufffd" for c in text)


def one_line(value: str) -> str:
    """A single-line field: no CR, LF or other break survives, no invisible direction or
    zero-width character either, and spaces are collapsed."""
    visible = _INVISIBLE.sub("", value)
    return _SPACES.sub(" ", _BREAKS.sub(" ", visible)).strip()


def is_web_address(text: str) -> bool:
    """An http or https address with a host: never javascript:, data: or file:."""
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def web_address(value: str, line: int, field: str) -> str:
    """An http or https address; anything else (javascript:, data:, file:) is refused."""
    text = one_line(value)
    if not is_web_address(text):
        reason = "expected a web address starting with https:// (or http://)"
        raise refuse(reason, line, field, value)
    return text


def parse_day_first(value: str, line: int, field: str) -> date:
    """A day-first date such as 01/06/17, 1/12/17 or 14/03/2017; never read month-first."""
    text = value.strip()
    match = _NUMERIC_DATE.fullmatch(text)
    if match is None:
        raise refuse("expected a day-first date such as 01/06/17", line, field, value)
    day, month, year = (int(part) for part in match.groups())
    if len(match.group(3)) == 2:
        year += 2000 if year < 70 else 1900
    if not 1 <= month <= 12:
        reason = f"not a valid date: there is no month {month} (dates are day/month/year)"
        raise refuse(reason, line, field, value)
    try:
        return date(year, month, day)
    except ValueError as exc:
        reason = f"not a valid date: {_MONTH_NAMES[month - 1]} {year} has no day {day}"
        raise refuse(reason, line, field, value) from exc


def parse_written_date(value: str, line: int, field: str) -> date:
    """A written date such as 'Friday 13th May 2016'; a named weekday must agree."""
    text = one_line(value)
    numeric = _OTHER_NUMERIC.fullmatch(text)
    if numeric:
        try:
            return parse_day_first(text.replace(numeric.group(1), "/"), line, field)
        except DocumentError as exc:
            exc.value = value  # as the document wrote it
            raise
    parsed = _parse_date(text, line, field)
    named = text.split()[0].strip(",").lower() if text else ""
    if named in _WEEKDAYS and _WEEKDAYS.index(named) != parsed.weekday():
        actual = _WEEKDAYS[parsed.weekday()].capitalize()
        raise refuse(f"{parsed:%d %B %Y} is a {actual}", line, field, value)
    return parsed


def _parse_date(text: str, line: int, field: str) -> date:
    """A whole date. dateutil fills a missing day, month or year from its default, so the
    text is read against two different defaults: if they disagree, a part was missing."""
    try:
        first = dateparser.parse(text, dayfirst=True, default=_DEFAULTS[0]).date()
        second = dateparser.parse(text, dayfirst=True, default=_DEFAULTS[1]).date()
    except (dateparser.ParserError, ValueError, OverflowError) as exc:
        raise refuse(f"not a valid date ({exc})", line, field, text) from exc
    if first != second:
        raise refuse("an incomplete date: day, month and year are all needed", line, field, text)
    return first


def parse_day_first_datetime(value: str, line: int, field: str) -> datetime:
    """A day-first date with a time, such as 06/01/2017 12:00:00 (naive, local)."""
    date_part, _, time_part = value.strip().partition(" ")
    day = parse_day_first(date_part, line, field)
    if not time_part.strip():
        return datetime.combine(day, time())
    try:
        clock = dateparser.parse(time_part, default=datetime.combine(day, time())).time()
    except (dateparser.ParserError, ValueError, OverflowError) as exc:
        raise refuse(f"not a valid date and time ({exc})", line, field, value) from exc
    return datetime.combine(day, clock)


_SUFFIX = r"((?i:am|pm|a\.m\.|p\.m\.))"
_DASHES = "-\u2013\u2014"
# The end's am/pm must not run into a lower-case word: "11:30 amNorwich" but not "11:30 Amersham".
TIME_RANGE = (
    rf"(\d{{1,2}})(?:[.:](\d{{2}}))?\s*{_SUFFIX}?\s*(?:to|[{_DASHES}])\s*"
    rf"(\d{{1,2}})(?:[.:](\d{{2}}))?(?:\s*{_SUFFIX}(?![a-z]))?"
)


def parse_time_range(match: re.Match[str], line: int, field: str) -> tuple[time, time]:
    """Start and end of '10:00 to 11:30 am', '12:00 to 1:30pm', '9.30 to 11.30', '14:00 to 16:00'.

    A suffix written only on the end time applies to the start too when that keeps the
    start before the end ("10:00 to 11:30 am"); otherwise the start is read as written
    ("12:00 to 1:30pm", "10:00 to 1:30pm").
    """
    sh, sm, ssuf, eh, em, esuf = match.groups()
    end = _clock(eh, em, esuf, match.group(0), line, field)
    start_suffix = ssuf or esuf
    start = _clock(sh, sm, start_suffix, match.group(0), line, field)
    if ssuf is None and esuf is not None and start >= end:
        start = _clock(sh, sm, None, match.group(0), line, field)
    if esuf is None and ssuf is None and 1 <= start.hour <= 6:
        # "2:00 - 4:00": no briefing starts before seven in the morning, so the afternoon.
        start = time(start.hour + 12, start.minute)
        end = time(end.hour + 12, end.minute) if end.hour < 12 else end
    if esuf is None and ssuf is None and end <= start and end.hour < 12:
        # "10:00 to 1:30": afternoon end written on the 12-hour clock.
        end = time(end.hour + 12, end.minute)
    if end <= start:
        raise refuse("the session ends before it starts", line, field, match.group(0))
    return start, end


def _clock(
    hour: str, minute: str | None, suffix: str | None, raw: str, line: int, field: str
) -> time:
    h, m = int(hour), int(minute or 0)
    if suffix:
        if not 1 <= h <= 12:
            raise refuse(f"hour {h} is not on the 12-hour clock", line, field, raw)
        h = h % 12 + (12 if suffix.lower().startswith("p") else 0)
    if h > 23 or m > 59:
        raise refuse("not a valid time of day", line, field, raw)
    return time(h, m)


def number_in_words(word: str) -> int | None:
    """'one' → 1, '2' → 2; None for anything else."""
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word.lower())
