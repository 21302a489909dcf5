"""Word documents (.docx), known by their content, read into the lines the text importers
take: each paragraph a line and a blank one; each table row its cells joined by tabs, a
cell's paragraphs joined by spaces, a merged cell read once. The paragraph just before a
table that does not start with a heading row of its own is its theme, as partnerships head
each theme's table.

Each line keeps where it came from ("table 2, row 5"), so that a refusal names the place a
reader finds in Word, not a line number Word does not show.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from worker.importers.read import Read


def docx_lines(data: bytes) -> Read:
    """The document's paragraphs and table rows, in order, as lines."""
    read, tables, paragraphs = Read(), 0, 0
    # the last paragraph (its text, its place, whether a list item): a theme if a table follows
    waiting: tuple[str, str, bool] | None = None
    for block in Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(block, Paragraph):
            if waiting is not None:
                paragraph(read, *waiting)
            paragraphs += 1
            text = " ".join(block.text.split())
            waiting = (text, f"paragraph {paragraphs}", listed(block)) if text else None
            continue
        tables += 1
        rows = table_rows(block)
        if waiting is not None:
            heading, place, _ = waiting
            starts_with_theme = bool(rows) and sum(1 for c in rows[0] if c) == 1
            read.add(heading if starts_with_theme else f"{heading}\t", place)
            waiting = None
        for number, cells in enumerate(rows, start=1):
            spanning = "\t" if len(cells) == 1 else ""  # one cell across: a heading row
            read.add("\t".join(cells) + spanning, f"table {tables}, row {number}")
    if waiting is not None:
        paragraph(read, *waiting)
    return read


def paragraph(read: Read, text: str, place: str, in_list: bool = False) -> None:
    """A paragraph is a line and a blank one, as paragraphs are in the text form; the items
    of a list follow one another, as a text list's lines do."""
    read.add(text, place)
    if not in_list:
        read.add("", place)


def listed(block: Paragraph) -> bool:
    """A paragraph that is an item of a bulleted or numbered list: numbered itself, or by
    its style ("List Bullet", "List Number")."""
    own = block._p.pPr
    style = block.style
    by_style = (
        style is not None
        and style.element.pPr is not None
        and (style.element.pPr.numPr is not None or style.name.startswith("List"))
    )
    return (own is not None and own.numPr is not None) or by_style


def table_rows(table: Table) -> list[list[str]]:
    """Each row's cells as text. A cell merged across columns is read once; one merged down
    rows is read in its first row and empty below (a continuation, as the text form has)."""
    rows: list[list[str]] = []
    above: list[Any] = []
    for row in table.rows:
        # python-docx gives a merged cell once per grid column it covers, the same element
        elements = [cell._tc for cell in row.cells]
        cells, seen = [], set()
        for i, (cell, element) in enumerate(zip(row.cells, elements, strict=True)):
            if element in seen:
                continue
            seen.add(element)
            merged_down = i < len(above) and above[i] is element
            cells.append("" if merged_down else text_of(cell.paragraphs))
        rows.append(cells)
        above = elements
    return rows


def text_of(paragraphs: list[Paragraph]) -> str:
    return " ".join(" ".join(p.text.split()) for p in paragraphs).strip()
