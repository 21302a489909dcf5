"""What a plan says of an action's state: whether it is achieved, and since when.

A status column (RAG, Status, Assessment of progress …: worker/importers/columns.py) is read
through the key printed with its table, an entry a line, or several on a line after "Key:":

* numbers: "1 Fully Achieved", "2 = Partially achieved", "3: Not achieved";
* colours: "Blue = complete", "Green - on track", "R: not started"; a cell giving the colour
  by its name or letter (Green, G) reads as the key says: "Green: complete".

An action is achieved when its status, so read, says so in the words plans use: Complete,
Completed, Fully achieved, Achieved, Closed, Done, also followed by more ("Achieved - June
2017", "Closed 02/10/2017"); or Blue, the colour of done where a key does not say otherwise;
or when its progress begins "Complete". Partially achieved, Not achieved, Incomplete and a
Green of its own (on track) are not. A date written with those words is the day it was
achieved; a month ("June 2017") is its last day, never earlier than the plan says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from worker.importers.errors import DocumentError
from worker.importers.target_dates import target_date

LONGEST = 40  # a status as stored (Action.rag)
COLOURS = {"red": "red", "amber": "amber", "green": "green", "blue": "blue", "black": "black",
           "grey": "grey", "gray": "grey", "r": "red", "a": "amber", "g": "green",
           "b": "blue"}  # fmt: skip
COLOUR = r"(?:red|amber|green|blue|black|grey|gray|(?-i:[RAGB]))"
DASH = "-\u2013\u2014"
# One entry of a key: a number then what it means in the words plans use for progress
# ("1 Fully Achieved"), or a colour, a sign and its meaning ("Blue = complete").
MEANING = r"([A-Za-z][A-Za-z ,/&'()-]{2,60})"
NUMBER_ENTRY = re.compile(rf"(\d{{1,2}})\s*[{DASH}=:.)]?\s+{MEANING}")
COLOUR_ENTRY = re.compile(rf"({COLOUR})\s*[{DASH}=:]\s*{MEANING}", re.I)
STATUS_WORDS = re.compile(r"achiev|complet|track|progress|start|delay|risk|ongoing|attention|"
                          r"action|closed|concern|slippage|hold|red|amber|green|blue",
                          re.I)  # fmt: skip
# Where a line of several entries is cut: at a comma or semicolon, else before a number or a
# colour that starts the next entry.
BETWEEN = re.compile(
    rf"\s*[,;]\s*|\s+(?=\d{{1,2}}\s*[{DASH}=:.)]?\s+[A-Za-z])|\s+(?={COLOUR}\s*[{DASH}=:]\s)",
    re.I,
)
# A key's heading, with its entries after it or on the lines below: "Key", "RAG key:".
TITLED = re.compile(rf"(?:(?:status|rag|progress|rating)\s+)?key\b\s*[{DASH}:]?\s*(.*)", re.I)
DONE = re.compile(r"(?:all\s+)?(?:actions?\s+)?(?:fully\s+)?(?:complete|completed|achieved|"
                  r"closed|done)\b", re.I)  # fmt: skip
NOT_DONE = re.compile(r"\b(?:not|partially|partly|part|incomplete|yet)\b", re.I)
READ_COLOUR = re.compile(rf"{COLOUR}\s*:\s*(.+)", re.I)  # "Green: complete"
WRITTEN_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|"
    r"(?:\d{1,2}(?:st|nd|rd|th)?\s+)?[A-Za-z]{3,9}\.?\s+\d{4}"
)
EARLIEST = date(2000, 1, 1)


def key_entries(text: str) -> dict[str, str] | None:
    """The entries of a key that `text` is all of ("1 Fully Achieved", "Red = not started;
    Green = complete"), by code ("1", "green"); None when it is anything else."""
    text = text.strip(" .")
    parts = [text] if entry(text) else BETWEEN.split(text)
    found = [entry(part.strip(" .")) for part in parts if part.strip(" .")]
    if not found or any(e is None for e in found):
        return None
    return dict(e for e in found if e is not None)


def entry(text: str) -> tuple[str, str] | None:
    if (number := NUMBER_ENTRY.fullmatch(text)) and STATUS_WORDS.search(number.group(2)):
        return number.group(1), number.group(2).strip()
    if colour := COLOUR_ENTRY.fullmatch(text):
        return COLOURS[colour.group(1).casefold()], colour.group(2).strip()
    return None


def key_title(text: str) -> str | None:
    """What follows a key's heading ("" for the heading alone); None when `text` is none."""
    titled = TITLED.fullmatch(text.strip())
    return titled.group(1) if titled else None


def read_status(cell: str, key: Mapping[str, str]) -> str:
    """A status cell as the key reads it: "1" → "Fully Achieved", "G" → "Green: complete";
    as written when the key does not name it. At most `LONGEST` characters."""
    code = cell.strip().rstrip(".").casefold()
    code = COLOURS.get(code, code)
    if (meaning := key.get(code)) is not None:
        cell = meaning if code.isdigit() else f"{code.title()}: {meaning}"
    return cell if len(cell) <= LONGEST else cell[: LONGEST - 1].rstrip() + "\u2026"


def achieved(status: str, progress: str) -> bool:
    """Whether the plan says the action is achieved: its status (as `read_status` gives it)
    or its progress."""
    said = status.strip().strip(".").strip()
    if coloured := READ_COLOUR.fullmatch(said):
        said = coloured.group(1)  # the key's meaning of the colour
    elif said.casefold() == "blue":
        return True
    done = DONE.match(said) is not None and NOT_DONE.search(said) is None
    return done or progress.casefold().startswith("complete")


def achieved_on(status: str, progress: str, today: date = date.max) -> date | None:
    """The day the plan says the action was achieved, when it writes one with the words that
    say so ("Closed 02/10/2017", "Completed March 2018"); None for none, or one after
    `today` or before 2000."""
    said = [status] if achieved(status, "") else []
    if progress.casefold().startswith("complete"):
        said.append(progress)
    for text in said:
        for written in WRITTEN_DATE.findall(text):
            day = read_date(written)
            if day is not None and EARLIEST <= day <= today:
                return day
    return None


def read_date(written: str) -> date | None:
    try:
        return target_date(written, 0)
    except DocumentError:
        return None
