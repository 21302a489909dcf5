"""Composite Action Plans in their text form: theme headings, then tables of actions.

Each table is a header row (Action, Lead agency, Target date, and Ref, SCR Ref, Progress,
Theme, RAG when kept, in any order and under any of the headings in
worker/importers/columns.py) under a theme heading, then one tab-separated row per action. A
row with an empty Ref continues the action above it (text that wrapped across a page break).
A Theme column gives each row its theme instead of the heading above the table. Above a
table's header everything is prose, but a one-cell line naming a theme: titles, dates of
update, a workbook's key sheet.

A plan that names none of the directory's themes is another partnership's: its heading rows,
and numbered lines ("1. Update on the data") anywhere, are its sections, each the theme of
the rows under it (`NO_THEME` before the first). A table with no
Ref column numbers its rows: 1, 2, … or, under a numbered section, 1.1, 1.2, …. A key under a
table ("1 Fully Achieved", "Blue = complete"), or anywhere after a "Key:" heading, says what
its status column's numbers or colours mean (worker/importers/status.py); under a "Key"
line, a row of two cells ("1 | Fully Achieved") is an entry of it.

A header's cells that no field reads (`unread`) are named in the import's preview.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from worker.importers.columns import DEFAULT_COLUMNS, FIELD_LABELS, Columns
from worker.importers.documents import ParsedAction, ParsedPlan
from worker.importers.errors import DocumentError, refuse
from worker.importers.status import key_entries, key_title, read_status
from worker.importers.target_dates import date_to_set, target_date
from worker.importers.text import one_line

REF = re.compile(r"[A-Za-z]{0,3}\d+(?:\.\d+)*[a-z]?")  # 4.6, 1, A1, 2.3b ("1." is 1)
SECTION = re.compile(r"(\d+)[.)]\s+\S.*")
NO_THEME = "General"
# A reference an action's text begins with, in a table without a Ref column: "1.3 Letter …",
# "2.1. Audit …", "4) Train …" (a bare number is a quantity: "3 schools").
WRITTEN_REF = re.compile(r"(?:(\d{1,3}(?:\.\d{1,3}){1,3})\.?|(\d{1,3})[.)])\s+(?=\S)")
SHEET_BREAK = "\f"  # between a workbook's sheets: each has its own header row
ONCE = ("ref", "theme", "rag")  # cells a continuation row does not add to
# A plan's title: "Serious Case Review Composite Action Plan January 2017", "LCSPR Child D
# action plan", "Rapid Review action tracker 2027", "Board action log", "improvement plan".
TITLE = re.compile(r"\b(?:action\s+(?:plan|tracker|log)|improvement\s+plan)\b", re.I)


def looks_like_cap(lines: list[str], columns: Columns = DEFAULT_COLUMNS) -> bool:
    return any(columns.header(line.split("\t")) for line in lines)


def plan_title(lines: list[str]) -> str | None:
    """The plan's own title: a line naming an action plan ("Composite Action Plan 2027")."""
    for line in lines:
        cells = [c for c in line.split("\t") if c.strip()]
        if len(cells) == 1 and TITLE.search(cells[0]) and len(cells[0]) < 200:
            return one_line(cells[0])
    return None


def guessed_title(lines: list[str], file_stem: str) -> tuple[str, str]:
    """A name for a plan with no title line, and where it came from: its first heading (a
    one-cell line above its first table), else its file's name."""
    for line in lines:
        cells = [c for c in line.split("\t") if c.strip()]
        if len(cells) > 1:
            break
        if len(cells) == 1 and len(cells[0]) <= 120 and not SECTION.fullmatch(cells[0]):
            return one_line(cells[0]), "its first heading"
    if one_line(file_stem):
        return one_line(file_stem), "its file's name"
    raise refuse("no plan title (a line naming the action plan, such as 'Composite Action "
                 "Plan 2027'), heading or file name to name it by")  # fmt: skip


@dataclass
class Reader:
    """Walks the lines once, keeping the current theme and table header."""

    themes: Sequence[str]
    names: Columns = DEFAULT_COLUMNS
    themed: bool = True  # the plan names the directory's themes (else: sections of its own)
    theme: str | None = None
    section: str | None = None  # the number of the section above, in a plan of sections
    numbered: int = 0  # rows numbered so far in it, when the table has no Ref column
    key: dict[str, str] = field(default_factory=dict)  # a status key: "1" -> "Fully Achieved"
    keying: bool = False  # under a "Key" line: a row of two cells is an entry of the key
    unread: list[str] = field(default_factory=list)  # headings no field reads, each once
    odd_heading: tuple[int, str] | None = None  # the last one-cell line above the first table
    # that names neither a theme nor the plan: a misspelt theme, named if no theme is found
    columns: dict[str, int] | None = None
    rows: list[dict[str, str | int]] = field(default_factory=list)
    numbered_refs: list[str] = field(default_factory=list)  # references the reader gave

    def read(self, number: int, line: str) -> None:
        if line == SHEET_BREAK:
            self.columns, self.keying = None, False  # a new sheet: prose until its header row
            return
        cells = line.split("\t")
        if not any(c.strip() for c in cells):
            return  # a blank line, inside a table or not
        if len(cells) < 2:
            self.plain(one_line(line))
            return
        one_cell = not any(c.strip() for c in cells[1:])
        if (columns := self.names.header(cells)) is not None:
            self.start_table(cells, columns)
        elif one_cell:
            self.heading(cells[0], number)
        elif self.key_row(cells):
            return
        elif self.columns is None:
            return  # above the table: a title row of several cells ("Updated | 01/03/27")
        elif "ref" in self.columns and not cell_at(cells, self.columns["ref"]):
            self.continue_row(cells, number)
        else:
            self.start_row(cells, number)

    def plain(self, text: str) -> None:
        """A line outside the tables: prose, but a line of a status key, or a numbered
        section's heading in a plan of sections."""
        if not self.status_key(text) and not self.themed and SECTION.fullmatch(text):
            self.start_section(text)

    def heading(self, cell: str, number: int) -> None:
        text = one_line(cell)
        if self.status_key(text):
            return
        if self.themed:
            self.theme_heading(cell, number)
        elif not TITLE.search(text):  # a heading row: the section of the rows below it
            self.start_section(text)

    def start_table(self, cells: list[str], columns: dict[str, int]) -> None:
        """A header row: its columns read from here on, those no field reads noted."""
        self.columns, self.keying = columns, False
        read = set(columns.values())
        for index, cell in enumerate(cells):
            heading = one_line(cell)
            if heading and index not in read and heading not in self.unread:
                self.unread.append(heading)

    def status_key(self, text: str) -> bool:
        """Whether `text` is a line of a status key: its heading ("Key", "Key: 1 Fully
        Achieved, 2 On track") anywhere; its entries ("1 Fully Achieved", "Blue = complete")
        below a table or a key's heading."""
        titled = key_title(text)
        entries = key_entries(text if titled is None else titled)
        if entries is None:
            self.keying |= titled == ""
            return titled == ""  # "Key" alone: its entries below
        if titled is None and self.columns is None and not self.keying:
            return False
        self.key.update(entries)
        self.keying |= titled is not None
        return True

    def key_row(self, cells: list[str]) -> bool:
        """Whether a row of two cells under a key's heading is an entry ("1 | Fully
        Achieved", "Blue | Complete")."""
        filled = [c.strip() for c in cells if c.strip()]
        return self.keying and len(filled) == 2 and self.status_key(" = ".join(filled))

    def start_section(self, heading: str) -> None:
        """Rows are numbered afresh under a numbered section (2.1, 2.2, …); under one without
        a number they go on counting, so that no two rows share a number."""
        self.theme = heading
        self.section = m.group(1) if (m := SECTION.fullmatch(heading)) else None
        self.numbered = 0 if self.section else self.numbered

    def theme_heading(self, cell: str, number: int) -> None:
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
        row["ref"] = self.row_ref(row, number)
        row["theme"] = self.row_theme(str(row.get("theme", "")), number)
        self.rows.append(row)

    def row_ref(self, row: dict[str, str | int], number: int) -> str:
        """The row's Ref ("1." read as 1); when the table has no Ref column, the reference its
        action begins with ("1.3 Letter to …", "4) Audit …"), else its number."""
        if "ref" not in row:
            written = WRITTEN_REF.match(str(row.get("text", "")))
            if written:
                row["text"] = str(row["text"])[written.end() :]
                ref = written[1] or written[2]
                self.numbered = max(self.numbered, int(ref.rsplit(".", 1)[-1]))
                return ref
            self.numbered += 1
            ref = f"{self.section}.{self.numbered}" if self.section else str(self.numbered)
            self.numbered_refs.append(ref)
            return ref
        ref = one_line(str(row["ref"])).rstrip(".")
        if not REF.fullmatch(ref):
            raise refuse("expected a reference such as 4.6", number, "Ref", str(row["ref"]))
        return ref

    def row_theme(self, cell: str, number: int) -> str:
        """The row's Theme cell, or the heading above the table."""
        if one_line(cell):
            return known_theme(cell, self.themes, number) if self.themed else one_line(cell)
        if not self.themed:
            return self.theme or NO_THEME
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


def cell_at(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def names_a_theme(lines: list[str], themes: Sequence[str], columns: Columns) -> bool:
    """Whether the plan is written under the directory's themes: a one-cell line naming one,
    or a Theme column."""
    folded = {t.casefold() for t in themes}
    for line in lines:
        cells = [c for c in line.split("\t") if c.strip()]
        header = columns.header(line.split("\t"))
        if header is not None and "theme" in header:
            return True
        if len(cells) == 1 and one_line(cells[0]).casefold() in folded:
            return True
    return False


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
    file_stem: str = "",
) -> ParsedPlan:
    """The plan in `lines`, named `title` when given, else by its own title, else by a guess
    (`guessed_title`), which the preview says it is."""
    reader = Reader(themes, columns, themed=names_a_theme(lines, themes, columns))
    for number, line in enumerate(lines, start=1):
        reader.read(number, line)
    if not reader.rows:
        raise refuse("no actions found under the table headers")
    actions = [to_action(row, reader.key) for row in reader.rows]
    check_unique(actions)
    own = plan_title(lines)
    named, named_from = (one_line(title), "given") if title else \
        (own, "title") if own else guessed_title(lines, file_stem)  # fmt: skip
    return ParsedPlan(title=named, actions=tuple(actions), unread_columns=tuple(reader.unread),
                      mapped=columns.mapped, named_from=named_from,
                      numbered=tuple(reader.numbered_refs))  # fmt: skip


def to_action(row: dict[str, str | int], key: dict[str, str]) -> ParsedAction:
    line = int(row["line"])
    text = {k: one_line(str(v)) for k, v in row.items()}
    if "rag" in text:
        text["rag"] = read_status(text["rag"], key)
    for required in ("text", "lead_agency"):
        if not text[required]:
            raise refuse("missing", line, FIELD_LABELS[required])
    text.setdefault("target_date", "Ongoing")  # a plan mapped as giving no target dates
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
