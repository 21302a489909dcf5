"""Composite Action Plans in their text form: theme headings, then tables of actions.

Each table is a header row (Ref, Action, Lead agency, Target date, and SCR Ref, Progress,
Theme, RAG when kept, in any order and under any of the headings in
worker/importers/columns.py) under a theme heading, then one tab-separated row per action. A
row with an empty Ref continues the action above it (text that wrapped across a page break).
A Theme column gives each row its theme instead of the heading above the table. Above a
table's header everything is prose, but a one-cell line naming a theme: titles, dates of
update, a workbook's key sheet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from worker.importers.columns import DEFAULT_COLUMNS, FIELD_LABELS, Columns
from worker.importers.documents import ParsedAction, ParsedPlan
from worker.importers.errors import DocumentError, refuse
from worker.importers.target_dates import date_to_set, target_date
from worker.importers.text import one_line

REF = re.compile(r"\d+(?:\.\d+)*")
SHEET_BREAK = "\f"  # between a workbook's sheets: each has its own header row
ONCE = ("ref", "theme", "rag")  # cells a continuation row does not add to
# A plan's title: "Serious Case Review Composite Action Plan January 2017", "LCSPR Child D
# action plan", "Rapid Review action tracker 2027".
TITLE = re.compile(r"\baction\s+(?:plan|tracker)\b", re.I)


def looks_like_cap(lines: list[str], columns: Columns = DEFAULT_COLUMNS) -> bool:
    return any(columns.header(line.split("\t")) for line in lines)


def plan_title(lines: list[str]) -> str:
    for line in lines:
        cells = [c for c in line.split("\t") if c.strip()]
        if len(cells) == 1 and TITLE.search(cells[0]) and len(cells[0]) < 200:
            return one_line(cells[0])
    raise refuse("no plan title (a line naming the action plan, such as 'Composite Action "
                 "Plan 2027'); give one with --plan")  # fmt: skip


@dataclass
class Reader:
    """Walks the lines once, keeping the current theme and table header."""

    themes: Sequence[str]
    names: Columns = DEFAULT_COLUMNS
    theme: str | None = None
    odd_heading: tuple[int, str] | None = None  # the last one-cell line above the first table
    # that names neither a theme nor the plan: a misspelt theme, named if no theme is found
    columns: dict[str, int] | None = None
    rows: list[dict[str, str | int]] = field(default_factory=list)

    def read(self, number: int, line: str) -> None:
        if line == SHEET_BREAK:
            self.columns = None  # a new sheet: prose until its own header row
            return
        cells = line.split("\t")
        if len(cells) < 2 or not any(c.strip() for c in cells):
            return  # prose, or a blank line inside a table
        one_cell = not any(c.strip() for c in cells[1:])
        if (columns := self.names.header(cells)) is not None:
            self.columns = columns
        elif one_cell:
            self.heading(cells[0], number)
        elif self.columns is None:
            return  # above the table: a title row of several cells ("Updated | 01/03/27")
        elif self.ref_at >= len(cells) or not cells[self.ref_at].strip():
            self.continue_row(cells, number)
        else:
            self.start_row(cells, number)

    @property
    def ref_at(self) -> int:
        return self.columns["ref"] if self.columns else 0

    def heading(self, cell: str, number: int) -> None:
        if self.columns is None:
            try:
                self.theme = known_theme(cell, self.themes, number)
            except DocumentError:
                if not TITLE.search(cell):  # not the plan's title: perhaps a misspelt theme
                    self.odd_heading = (number, cell)
            return
        self.theme = known_theme(cell, self.themes, number)

    def start_row(self, cells: list[str], number: int) -> None:
        assert self.columns is not None  # rows above the first header are prose
        row: dict[str, str | int] = {"line": number}
        for name, index in self.columns.items():
            row[name] = cells[index] if index < len(cells) else ""
        ref = one_line(str(row["ref"]))
        if not REF.fullmatch(ref):
            raise refuse("expected a reference such as 4.6", number, "Ref", str(row["ref"]))
        row["theme"] = self.row_theme(str(row.get("theme", "")), number)
        self.rows.append(row)

    def row_theme(self, cell: str, number: int) -> str:
        """The row's Theme cell, or the heading above the table."""
        if one_line(cell):
            return known_theme(cell, self.themes, number)
        if self.theme is None and self.odd_heading is not None:  # it was meant as the theme
            line, heading = self.odd_heading
            known_theme(heading, self.themes, line)
        if self.theme is None:
            reason = "an action row with no theme: no theme heading above it, no Theme column"
            raise refuse(f"{reason} (themes: {'; '.join(self.themes)})", number)
        return self.theme

    def continue_row(self, cells: list[str], number: int) -> None:
        if not self.rows or self.columns is None:
            raise refuse("a continuation row with no action above it", number)
        row = self.rows[-1]
        for name, index in self.columns.items():
            if name not in ONCE and index < len(cells) and cells[index].strip():
                row[name] = f"{row[name]} {cells[index]}"


def known_theme(cell: str, themes: Sequence[str], line: int) -> str:
    folded = {t.casefold(): t for t in themes}
    found = folded.get(one_line(cell).casefold())
    if found is None:
        reason = f"unknown theme (known: {'; '.join(themes)})"
        raise refuse(reason, line, "Theme", one_line(cell))
    return found


def parse_cap(
    lines: list[str],
    themes: Sequence[str],
    title: str | None = None,
    columns: Columns = DEFAULT_COLUMNS,
) -> ParsedPlan:
    reader = Reader(themes, columns)
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
            raise refuse("missing", line, FIELD_LABELS[required])
    to_set = date_to_set(text["target_date"])
    return ParsedAction(
        ref=text["ref"],
        theme=text["theme"],
        scr_refs=scr_refs(text.get("scr_refs", "")),
        text=text["text"],
        lead_agency=text["lead_agency"],
        target_date=None if to_set else target_date(text["target_date"], line),
        progress=text.get("progress", ""),
        line=line,
        rag=text.get("rag"),
        date_to_set=to_set,
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
