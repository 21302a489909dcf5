"""Excel trackers (.xlsx), known by their content, read into the lines the text importers
take. Each sheet in order; each row its cells joined by tabs; a cell holding a real date
written as a day-first date; a row of one cell a heading (a title above the first table,
a theme below it); each sheet after the first starts with a sheet break, so that its rows
are prose until its own header row (a key to the RAG colours, say). The action-plan reader
finds the header row wherever it is, and reads a Theme and a RAG or Status column itself
(worker/importers/cap.py).

Each line keeps where it came from ("sheet Actions, row 7").
"""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook

from worker.importers.cap import SHEET_BREAK
from worker.importers.read import Read


def xlsx_lines(data: bytes) -> Read:
    read = Read()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for index, sheet in enumerate(workbook.worksheets):
        if index:
            read.add(SHEET_BREAK, f"sheet {sheet.title}")
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = trimmed([text(v) for v in values])
            line = f"{cells[0]}\t" if len(cells) == 1 and cells[0] else "\t".join(cells)
            read.add(line, f"sheet {sheet.title}, row {number}")
    return read


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
