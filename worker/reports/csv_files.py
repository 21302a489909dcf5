"""CSV for spreadsheets: the one way this project writes it, from the CLI and the console."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

# A cell a spreadsheet would run as a formula (OWASP, CSV injection); a plain number cannot.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """`cell`, with a leading apostrophe if a spreadsheet would read it as a formula: its
    first character compared in compatibility form, as a spreadsheet may take a full-width
    equals or plus sign (U+FF1D, U+FF0B) for "=" and "+"."""
    first = unicodedata.normalize("NFKC", cell[:1])
    if first.startswith(FORMULA_START) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The one way this project writes CSV: every cell made safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in [header, *rows]:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return buffer.getvalue()
