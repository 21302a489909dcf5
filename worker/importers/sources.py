"""Any document the importers read, as lines (worker/importers/read.py): Word and Excel
known by their content whatever their names, anything else as text."""

from __future__ import annotations

from pathlib import Path

from worker.importers.errors import refuse
from worker.importers.excel import is_xlsx, xlsx_lines
from worker.importers.read import Read
from worker.importers.text import document_bytes, text_lines
from worker.importers.word import docx_lines, is_docx


def read_source(path: Path) -> Read:
    """Any document the importers read: Word and Excel by their content, else text."""
    data = document_bytes(path)
    if is_xlsx(data):
        try:
            return xlsx_lines(data)
        except Exception as exc:  # a broken package: whatever openpyxl raises for it
            raise refuse(f"an Excel workbook that cannot be read ({exc})") from exc
    if is_docx(data):
        try:
            return docx_lines(data)
        except Exception as exc:  # a broken package: whatever python-docx raises for it
            raise refuse(f"a Word document that cannot be read ({exc})") from exc
    return Read(text_lines(data))
