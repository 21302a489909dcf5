"""Any document the importers read, as lines (worker/importers/read.py): Word and Excel
known by their content whatever their names, anything else as text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from worker.importers.errors import refuse
from worker.importers.excel import xlsx_lines
from worker.importers.read import Read
from worker.importers.text import document_bytes, text_lines
from worker.importers.word import docx_lines

ZIP_MAGIC = b"PK\x03\x04"
PACKAGES = {  # the part that says what an Office package holds, and how to read it
    "word/document.xml": ("a Word document", docx_lines),
    "xl/workbook.xml": ("an Excel workbook", xlsx_lines),
}


def read_source(path: Path) -> Read:
    """Any document the importers read: Word and Excel by their content, else text."""
    data = document_bytes(path)
    package = package_of(data)
    if package is None:
        return Read(text_lines(data))
    what, read = PACKAGES[package]
    try:
        return read(data)
    except Exception as exc:  # a broken package: whatever python-docx or openpyxl raise for it
        raise refuse(f"{what} that cannot be read ({exc})") from exc


def package_of(data: bytes) -> str | None:
    """The part of PACKAGES an Office package holds; None for anything else."""
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return None
    return next((part for part in PACKAGES if part in names), None)
