"""Spreadsheets the business manager keeps, saved as CSV with a documented header.

Actions:  plan,ref,theme,scr_refs,action,lead_agency,target_date,progress (and rag, if kept)
Sessions: mi_number,reference,date,start,end,venue,delegate_limit,booking_url

The `plan` column may be left out when `--plan NAME` is given. Dates are day-first
(DD/MM/YYYY) and times 24-hour (HH:MM).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import time

from worker.importers.cap import check_unique, known_theme, scr_refs
from worker.importers.columns import Columns
from worker.importers.documents import ParsedAction, ParsedPlan, ParsedSession, ParsedSessionList
from worker.importers.errors import refuse
from worker.importers.target_dates import date_to_set, target_date
from worker.importers.text import one_line, parse_day_first, web_address

ACTION_COLUMNS = ("ref", "theme", "scr_refs", "action", "lead_agency", "target_date", "progress")
SESSION_COLUMNS = ("mi_number", "reference", "date", "start", "end", "venue")
SESSION_OPTIONAL = ("delegate_limit", "booking_url")

Row = tuple[int, dict[str, str]]


def csv_kind(lines: list[str]) -> str | None:
    try:
        header = {h.strip().lower() for h in next(csv.reader(lines[:1]), [])}
    except csv.Error:  # e.g. a first line longer than the csv module's field limit
        return None
    if set(ACTION_COLUMNS) <= header:
        return "actions"
    if set(SESSION_COLUMNS) <= header:
        return "sessions"
    return None


def csv_table(lines: list[str], columns: Columns) -> list[str] | None:
    """An action plan saved from a spreadsheet as CSV, with headings of its own (not the
    documented header), as the tab-separated lines the plan reader takes; None when no row
    is a header. Each CSV record is one line, whatever line breaks its cells hold."""
    try:
        records = list(csv.reader(lines))
    except csv.Error:
        return None
    if not any(columns.header(cells) for cells in records[:20]):
        return None
    table = []
    for cells in records:
        kept = [" ".join(c.split()) for c in cells]
        while kept and not kept[-1]:
            kept.pop()
        table.append(f"{kept[0]}\t" if len(kept) == 1 else "\t".join(kept))
    return table


def rows(lines: list[str]) -> list[Row]:
    """Data rows with the line each starts on, header names folded to lower case."""
    reader = csv.reader(lines)
    try:
        header = [h.strip().lower() for h in next(reader)]
        found: list[Row] = []
        for cells in reader:
            if any(c.strip() for c in cells):
                found.append((reader.line_num, check_width(cells, header, reader.line_num)))
    except csv.Error as exc:
        raise refuse(f"unreadable CSV ({exc})", reader.line_num) from exc
    if not found:
        raise refuse("a header with no rows under it")
    return found


def check_width(cells: list[str], header: list[str], line: int) -> dict[str, str]:
    if len(cells) != len(header):
        raise refuse(f"{len(cells)} cells where the header has {len(header)}", line)
    return dict(zip(header, cells, strict=True))


def parse_actions_csv(
    lines: list[str], themes: Sequence[str], plan: str | None, if_untitled: bool = False
) -> list[ParsedPlan]:
    """One parsed plan per distinct `plan` value (or the one `--plan` names; with
    `if_untitled`, only for rows that name none)."""
    by_plan: dict[str, list[ParsedAction]] = {}
    for line, row in rows(lines):
        given = (row.get("plan") or plan) if if_untitled else (plan or row.get("plan"))
        title = one_line(given or "")
        if not title:
            raise refuse("missing (or give --plan NAME)", line, "plan")
        by_plan.setdefault(title, []).append(csv_action(row, line, themes))
    for actions in by_plan.values():
        check_unique(actions)
    return [ParsedPlan(title, tuple(actions)) for title, actions in by_plan.items()]


def csv_action(row: dict[str, str], line: int, themes: Sequence[str]) -> ParsedAction:
    cell = {k: one_line(v) for k, v in row.items()}
    if not re.fullmatch(r"\d+(?:\.\d+)*", cell["ref"]):
        raise refuse("expected a reference such as 4.6", line, "ref", row["ref"])
    for required in ("action", "lead_agency"):
        if not cell[required]:
            raise refuse("missing", line, required)
    to_set = date_to_set(cell["target_date"])
    return ParsedAction(
        ref=cell["ref"],
        theme=known_theme(cell["theme"], themes, line),
        scr_refs=scr_refs(cell["scr_refs"]),
        text=cell["action"],
        lead_agency=cell["lead_agency"],
        target_date=None if to_set else target_date(cell["target_date"], line),
        progress=cell["progress"],
        line=line,
        rag=cell.get("rag"),
        date_to_set=to_set,
    )


def parse_sessions_csv(lines: list[str]) -> ParsedSessionList:
    found = [(one_line(row["mi_number"]), csv_session(row, line)) for line, row in rows(lines)]
    seen: dict[str, int] = {}
    for _, session in found:
        if session.reference in seen:
            reason = f"duplicate reference (first used on line {seen[session.reference]})"
            raise refuse(reason, session.line, "reference", session.reference)
        seen[session.reference] = session.line
    return ParsedSessionList(tuple(found))


def csv_session(row: dict[str, str], line: int) -> ParsedSession:
    cell = {k: one_line(v) for k, v in row.items()}
    for required in (*SESSION_COLUMNS, "venue"):
        if not cell.get(required):
            raise refuse("missing", line, required)
    start, end = clock(cell["start"], line, "start"), clock(cell["end"], line, "end")
    if end <= start:
        raise refuse("the session ends before it starts", line, "end", cell["end"])
    return ParsedSession(
        reference=cell["reference"],
        date=parse_day_first(cell["date"], line, "date"),
        start=start,
        end=end,
        venue=cell["venue"],
        line=line,
        delegate_limit=limit(cell.get("delegate_limit", ""), line),
        booking_url=booking(cell.get("booking_url", ""), line),
    )


def booking(value: str, line: int) -> str | None:
    return web_address(value, line, "booking_url") if value else None


def clock(value: str, line: int, field: str) -> time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", value)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise refuse("expected a 24-hour time such as 09:30", line, field, value)
    return time(int(match.group(1)), int(match.group(2)))


def limit(value: str, line: int) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise refuse("expected a whole number of delegates", line, "delegate_limit", value)
    return int(value)
