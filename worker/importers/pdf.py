"""PDF documents, known by their content, read into the lines the text importers take.

Page by page, top to bottom: each ruled table row a line of tab-separated cells (a cell's
own line breaks joined by spaces), the text around the tables as its lines, the line just
above a table its heading (a theme, in a plan). A table broken
across pages needs nothing more: the plan reader keeps the header it last saw, and a row
whose Ref cell is empty at the top of a page continues the action above it.

Each line keeps where it came from ("page 2, table row 5").
"""

from __future__ import annotations

import io
from typing import Any

import pdfplumber

from worker.importers.errors import refuse
from worker.importers.read import Read

Block = tuple[float, list[tuple[str, str]]]  # where on the page, and its (line, place)s


def pdf_lines(data: bytes) -> Read:
    read = Read()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            starts = len(read.lines)  # a footer or header of the page before heads nothing
            for _, lines in sorted(page_blocks(page, number), key=lambda b: b[0]):
                if "table" in lines[0][1] and len(read.lines) > starts:
                    heading_above(read, lines[0][0])
                for line, place in lines:
                    read.add(line, place)
    if not any(line.strip() for line in read.lines):
        raise refuse("a PDF with no text in it (a scan?): save the original as PDF again")
    return read


def heading_above(read: Read, first_row: str) -> None:
    """The line of text just above a table heads it (its theme, in a plan), as in Word;
    unless the table starts with a heading row of its own."""
    own_heading = first_row.count("\t") == 1 and first_row.endswith("\t")
    if read.lines and read.lines[-1].strip() and "\t" not in read.lines[-1] and not own_heading:
        read.lines[-1] += "\t"


def page_blocks(page: Any, number: int) -> list[Block]:
    tables = page.find_tables()
    boxes = [table.bbox for table in tables]
    blocks: list[Block] = []
    for table in tables:
        rows = [tab_row(cells) for cells in table.extract()]
        placed = [(row, f"page {number}, table row {i}") for i, row in enumerate(rows, 1)]
        blocks.append((table.bbox[1], placed))
    outside = page.filter(lambda obj: not any(inside(obj, box) for box in boxes))
    for line in outside.extract_text_lines():
        text = " ".join(line["text"].split())
        blocks.append((line["top"], [(text, f"page {number}")]))
    return blocks


def tab_row(cells: list[str | None]) -> str:
    texts = [" ".join((cell or "").split()) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return f"{texts[0]}\t" if len(texts) == 1 else "\t".join(texts)


def inside(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    if "x0" not in obj or "top" not in obj:
        return False
    middle_x = (obj["x0"] + obj["x1"]) / 2
    middle_y = (obj["top"] + obj["bottom"]) / 2
    return bool(x0 <= middle_x <= x1 and top <= middle_y <= bottom)
