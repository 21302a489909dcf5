"""Target dates as action plans write them, each read to one day (or to none).

* `01/06/17`, `1.6.2017`, `2017-06-01`, `1st June 2017`, `Friday 2 June 2017`: that day
  (numbers are day first);
* `June 2019`, `Jun 2019`, `Jun-19`, `end of June 2019`: the last day of that month;
* `Q2 2019/20`, `Q2 2019-20`, `Q2 19/20`: the last day of that financial-year quarter
  (Q1 is April to June, Q4 January to March);
* `April - June 2019` (any dash), `Jan to Mar 2020`: a range of months means its end;
* `By April 2017`, `by end of June 2019`, `before 01/06/17`, `no later than …`: the date;
* `Ongoing`: no date (the progress-review obligation);
* `TBC`, `TBA` (to be confirmed, agreed or arranged, also "to be confirmed in the autumn"):
  no date yet, the business manager flagged to set one (`date_to_set`).

Anything vaguer — a season (`Spring 2019`), a year alone, a day with no year — is refused,
naming the cell and suggesting a date to write instead.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from worker.importers.errors import refuse
from worker.importers.text import parse_day_first, parse_written_date

FIELD = "Target date"
MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name} | {
    name.lower(): n for n, name in enumerate(calendar.month_abbr) if name
} | {"sept": 9}  # fmt: skip
# "June 2019", "Jun-19" (two digits only after a dash or slash: "March 14" is a day, not 2014)
MONTH_YEAR = re.compile(
    r"(?:end\s+(?:of\s+)?)?([a-z]+)(?:[\s,]+(\d{4})|\s*[-/]\s*(\d{2}|\d{4}))", re.I
)
QUARTER = re.compile(r"q([1-4])\s*(\d{4}|\d{2})\s*[/\-]\s*(\d{4}|\d{2})", re.I)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
SEASONS = {"spring": "31 May", "summer": "31 August", "autumn": "30 November",
           "winter": "28 February"}  # fmt: skip


TO_SET = re.compile(r"(tb[ca])\b|to\s+be\s+(?:confirmed|agreed|arranged)\b", re.I)
# Words before a deadline that do not change it: "By April 2017", "by end of June".
BY = re.compile(r"^(?:by|before|no\s+later\s+than)\s+(?:the\s+)?", re.I)
# "April - June 2019" (any dash), "Jan to Mar 2020", "April 2019 - June 2019": a range.
MONTH_RANGE = re.compile(
    r"([a-z]+)\.?(?:\s+\d{4})?\s*(?:to|[-\u2013\u2014])\s*([a-z]+\.?[\s,]+\d{4})", re.I
)


def date_to_set(cell: str) -> str:
    """'TBC' or 'TBA' when `cell` says the date is still to be set, else ''."""
    match = TO_SET.match(" ".join(cell.split()).strip(". "))
    if match is None:
        return ""
    return (match.group(1) or "TBC").upper()


def target_date(cell: str, line: int) -> date | None:
    """The day `cell` means (None for Ongoing); DocumentError naming the cell otherwise."""
    text = BY.sub("", " ".join(cell.split()))
    if (months := MONTH_RANGE.fullmatch(text)) and months.group(1).lower() in MONTHS:
        text = months.group(2).replace(".", "")
    if text.casefold() == "ongoing":
        return None
    if not text:
        raise refuse("missing (write a date or 'Ongoing')", line, FIELD)
    if ISO.fullmatch(text):
        return iso(text, line)
    if "/" in text and not QUARTER.fullmatch(text):
        return parse_day_first(text, line, FIELD)
    for read in (quarter_end, month_end):
        try:
            found = read(text)
        except ValueError as exc:  # a year such as 0000
            raise refuse(f"not a valid date ({exc})", line, FIELD, text) from exc
        if found is not None:
            return found
    vague(text, line)
    return parse_written_date(text, line, FIELD)


def iso(text: str, line: int) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise refuse(f"not a valid date ({exc})", line, FIELD, text) from exc


def month_end(text: str) -> date | None:
    """`June 2019`, `Jun-19`, `end of June 2019`: the month's last day."""
    match = MONTH_YEAR.fullmatch(text)
    if match is None or match.group(1).lower() not in MONTHS:
        return None
    month, year = MONTHS[match.group(1).lower()], full_year(match.group(2) or match.group(3))
    return date(year, month, calendar.monthrange(year, month)[1])


def quarter_end(text: str) -> date | None:
    """`Q2 2019/20`: the last day of the financial year's quarter (April to March)."""
    match = QUARTER.fullmatch(text)
    if match is None:
        return None
    quarter, start = int(match.group(1)), full_year(match.group(2))
    if full_year(match.group(3)) % 100 != (start + 1) % 100:
        return None  # "Q2 2019/21" is no financial year: refused as vague below
    month, year = (6, 9, 12, 3)[quarter - 1], start + (quarter == 4)
    return date(year, month, calendar.monthrange(year, month)[1])


def full_year(written: str) -> int:
    return int(written) + 2000 if len(written) == 2 else int(written)


def vague(text: str, line: int) -> None:
    """Refuse a season, a quarter that names no financial year, a year or month alone."""
    words = text.lower().replace("-", " ").split()
    year = next((w for w in words if re.fullmatch(r"\d{4}", w)), "YYYY")
    season = next((w for w in words if w in SEASONS), None)
    if season is not None:
        hint = f"write a day, such as {SEASONS[season]} {year}, or a month, such as "
        raise refuse(f"too vague for a deadline ({hint}'{SEASONS[season].split()[1]} {year}')",
                     line, FIELD, text)  # fmt: skip
    if QUARTER.fullmatch(text) or re.fullmatch(r"q[1-4]\b.*", text.lower()):
        raise refuse("a quarter needs its financial year, such as 'Q2 2019/20'", line, FIELD,
                     text)  # fmt: skip
