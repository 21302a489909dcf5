"""Composite Action Plans in their text form: theme headings, then tables of actions.

Each table is a header row (Ref, SCR Ref, Action, Lead agency, Target date, Progress, in any
order) under a theme heading, then one tab-separated row per action. A row with an empty Ref
continues the action above it (text that wrapped across a page break).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from worker.importers.documents import ParsedAction, ParsedPlan
from worker.importers.errors import refuse
from worker.importers.target_dates import target_date
from worker.importers.text import one_line

COLUMNS = {
    "ref": "ref",
    "scr ref": "scr_refs",
    "action": "text",
    "lead agency": "lead_agency",
    "target date": "target_date",
    "progress": "progress",
}
REF = re.compile(r"\d+(?:\.\d+)*")
TITLE = re.compile(r"composite\s+action\s+plan", re.I)


def looks_like_cap(lines: list[str]) -> bool:
    return any(header_columns(line.split("\t")) for line in lines)


def header_columns(cells: Sequence[str]) -> dict[str, int] | None:
    """Column positions when `cells` is an action-table header row, else None."""
    names = [one_line(c).lower() for c in cells]
    found = {COLUMNS[n]: i for i, n in enumerate(names) if n in COLUMNS}
    return found if len(found) == len(COLUMNS) else None


def plan_title(lines: list[str]) -> str:
    for line in lines:
        if TITLE.search(line) and "\t" not in line and len(line) < 200:
            return one_line(line)
    raise refuse("no plan title (a line naming the Composite Action Plan); give one with --plan")


@dataclass
class Reader:
    """Walks the lines once, keeping the current theme and table header."""

    themes: Sequence[str]
    theme: str | None = None
    columns: dict[str, int] | None = None
    rows: list[dict[str, str | int]] = field(default_factory=list)

    def read(self, number: int, line: str) -> None:
        cells = line.split("\t")
        if len(cells) < 2 or not any(c.strip() for c in cells):
            return  # prose, or a blank line inside a table
        if (columns := header_columns(cells)) is not None:
            self.columns = columns
        elif not any(c.strip() for c in cells[1:]):
            self.theme = known_theme(cells[0], self.themes, number)
        elif not cells[0].strip():
            self.continue_row(cells, number)
        else:
            self.start_row(cells, number)

    def start_row(self, cells: list[str], number: int) -> None:
        if self.columns is None or self.theme is None:
            raise refuse("an action row before any theme heading and table header", number)
        ref = one_line(cells[0])
        if not REF.fullmatch(ref):
            raise refuse("expected a reference such as 4.6", number, "Ref", cells[0])
        row: dict[str, str | int] = {"theme": self.theme, "line": number}
        for name, index in self.columns.items():
            row[name] = cells[index] if index < len(cells) else ""
        self.rows.append(row)

    def continue_row(self, cells: list[str], number: int) -> None:
        if not self.rows or self.columns is None:
            raise refuse("a continuation row with no action above it", number)
        row = self.rows[-1]
        for name, index in self.columns.items():
            if index < len(cells) and cells[index].strip():
                row[name] = f"{row[name]} {cells[index]}"


def known_theme(cell: str, themes: Sequence[str], line: int) -> str:
    folded = {t.casefold(): t for t in themes}
    found = folded.get(one_line(cell).casefold())
    if found is None:
        reason = f"unknown theme (known: {'; '.join(themes)})"
        raise refuse(reason, line, "Theme", one_line(cell))
    return found


def parse_cap(lines: list[str], themes: Sequence[str], title: str | None = None) -> ParsedPlan:
    reader = Reader(themes)
    for number, line in enumerate(lines, start=1):
        reader.read(number, line)
    if not reader.rows:
        raise refuse("no actions found under the table headers")
    actions = [to_action(row) for row in reader.rows]
    check_unique(actions)
    return ParsedPlan(title=one_line(title) if title else plan_title(lines), actions=tuple(actions))


def to_action(row: dict[str, str | int]) -> ParsedAction:
    line = int(row["line"])
    text = {k: one_line(str(v)) for k, v in row.items()}
    for required in ("text", "lead_agency"):
        if not text[required]:
            raise refuse("missing", line, required.replace("_", " ").capitalize())
    return ParsedAction(
        ref=text["ref"],
        theme=text["theme"],
        scr_refs=scr_refs(text["scr_refs"]),
        text=text["text"],
        lead_agency=text["lead_agency"],
        target_date=target_date(text["target_date"], line),
        progress=text["progress"],
        line=line,
    )


def scr_refs(cell: str) -> tuple[str, ...]:
    """'K,O,P,Q,R' → K, O, P, Q, R; 'M (and All)' → M, All."""
    flat = re.sub(r"\(\s*(?:and\s+)?", ",", cell).replace(")", ",")
    parts = re.split(r",|;|\band\b|&", flat)
    return tuple(p.strip() for p in parts if p.strip())


def check_unique(actions: list[ParsedAction]) -> None:
    seen: dict[str, int] = {}
    for action in actions:
        if action.ref in seen:
            reason = f"duplicate reference (first used on line {seen[action.ref]})"
            raise refuse(reason, action.line, "Ref", action.ref)
        seen[action.ref] = action.line


def with_title(plan: ParsedPlan, title: str | None) -> ParsedPlan:
    return replace(plan, title=one_line(title)) if title else plan
