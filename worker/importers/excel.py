"""Excel trackers (.xlsx), known by their content, read into the lines the text importers
take. Each sheet in order; each row its cells joined by tabs; a cell holding a real date
written as a day-first date. Rows above a sheet's header row (title rows) are prose. Under
the header, a row with one cell is a theme heading; a Theme column instead starts a theme
heading wherever its value changes, and is then left out. A Status or RAG column saying
Complete (or Completed) completes the action, as a Progress starting "Complete" does.

Each line keeps where it came from ("sheet Actions, row 7").
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from worker.importers.cap import header_columns
from worker.importers.read import Read
from worker.importers.text import one_line

EXTRA = {"theme": "theme", "status": "status", "rag": "status", "ragstatus": "status"}


def xlsx_lines(data: bytes) -> Read:
    read = Read()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for sheet in workbook.worksheets:
        Sheet(read, sheet.title).rows(sheet.iter_rows(values_only=True))
    return read


class Sheet:
    """One sheet's rows, turned into lines as the text form has them."""

    def __init__(self, read: Read, title: str) -> None:
        self.read, self.title = read, title
        self.extra: dict[str, int] = {}  # theme and status columns, once the header is seen
        self.header = False
        self.progress_at = 0  # the Progress column, once the header is seen
        self.theme = ""

    def rows(self, rows: Any) -> None:
        for number, values in enumerate(rows, start=1):
            cells = trimmed([text(v) for v in values])
            self.row(cells, f"sheet {self.title}, row {number}")

    def row(self, cells: list[str], place: str) -> None:
        columns = None if self.header else header_columns(self.without_extra(cells, find=True))
        if columns is not None:
            self.header, self.progress_at = True, columns["progress"]
            self.read.add("\t".join(self.without_extra(cells)), place)
            return
        if not self.header or len(cells) <= 1:
            heading = cells[0] if cells else ""
            self.read.add(f"{heading}\t" if self.header and heading else heading, place)
            return
        theme = cells[self.extra["theme"]] if "theme" in self.extra and \
            self.extra["theme"] < len(cells) else ""  # fmt: skip
        if theme and theme != self.theme:
            self.theme = theme
            self.read.add(f"{theme}\t", place)
        self.read.add("\t".join(self.with_status(cells)), place)

    def without_extra(self, cells: list[str], find: bool = False) -> list[str]:
        """`cells` without the theme and status columns (found in the header, when `find`)."""
        if find:
            names = [one_line(c).lower().replace(" ", "").replace("/", "") for c in cells]
            self.extra = {EXTRA[n]: i for i, n in enumerate(names) if n in EXTRA}
        skip = set(self.extra.values())
        return [c for i, c in enumerate(cells) if i not in skip]

    def with_status(self, cells: list[str]) -> list[str]:
        """The row without its extra columns; a Complete status becomes the progress's first
        word (the text form's way of saying it), the progress itself kept after it."""
        at = self.extra.get("status")
        status = cells[at] if at is not None and at < len(cells) else ""
        kept = self.without_extra(cells)
        if status.strip().lower() not in ("complete", "completed"):
            return kept
        kept += [""] * (self.progress_at + 1 - len(kept))
        progress = kept[self.progress_at]
        if not progress.lower().startswith("complete"):
            kept[self.progress_at] = f"Complete. {progress}" if progress else "Complete"
        return kept


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def trimmed(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    return cells
