"""Any document the importers read, as lines (worker/importers/read.py): Word, Excel, PDF
and web pages known by their content whatever their names, anything else as text; each read
in a child process within its limits (worker/importers/limits.py)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from functools import partial

from worker.importers.errors import DocumentError, refuse
from worker.importers.excel import xlsx_lines
from worker.importers.limits import Limits, check_package, check_pages, read_apart
from worker.importers.pdf import pdf_lines
from worker.importers.read import Read
from worker.importers.text import check_size, decode, text_lines
from worker.importers.web_page import html_lines
from worker.importers.word import docx_lines

DEFAULT_LIMITS = Limits()
ZIP_MAGIC = b"PK\x03\x04"
PDF_MAGIC = b"%PDF-"
PACKAGES = {  # the part that says what an Office package holds, and how to read it
    "word/document.xml": ("a Word document", docx_lines),
    "xl/workbook.xml": ("an Excel workbook", xlsx_lines),
}
HTML_START = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html\b)", re.I | re.S)


def read_source(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Read:
    """Any document the importers read, each format by its content, else text: read apart,
    within `limits` (worker/importers/limits.py), whatever its format."""
    check_size(data)
    return read_apart(partial(read_any, limits=limits), data, limits)


def read_any(data: bytes, limits: Limits) -> Read:
    """The document read by the reader of its format (in the reading process)."""
    if data.startswith(PDF_MAGIC):
        return reading("a PDF document", partial(pdf_within, limits=limits), data)
    package = package_of(data)
    if package is not None:
        what, read = PACKAGES[package]
        check_package(data, limits)
        return reading(what, read, data)
    if HTML_START.match(data[:4096].decode("utf-8", errors="replace").lstrip("\ufeff")):
        return reading("a web page", lambda page: html_lines(decode(page)), data)
    return Read(text_lines(data))


def pdf_within(data: bytes, limits: Limits) -> Read:
    """A PDF's lines, its page count checked first."""
    check_pages(data, limits)
    return pdf_lines(data)


def reading(what: str, read: Callable[[bytes], Read], data: bytes) -> Read:
    try:
        return read(data)
    except (DocumentError, MemoryError):  # the reading process says which
        raise
    except Exception as exc:  # a broken file: whatever python-docx, openpyxl or pdfplumber raise
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
