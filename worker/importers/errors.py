"""The one error an importer raises: a document refused, with where and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DocumentError(Exception):
    """A document that cannot be imported; nothing of it is stored.

    The message names the file, and where known the line, the field and the offending value,
    so the business manager can find and fix it in the original document.
    """

    reason: str
    file: str = ""
    line: int | None = None
    field: str | None = None
    value: str | None = None
    place: str | None = None  # where in a document without lines: "table 2, row 5"

    def __str__(self) -> str:
        spot = self.place or (f"line {self.line}" if self.line else "")
        where = self.file + (f", {spot}" if spot else "")
        what = f"{self.field}: " if self.field else ""
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {what}{self.reason}{shown}"


def refuse(
    reason: str,
    line: int | None = None,
    field: str | None = None,
    value: str | None = None,
) -> DocumentError:
    """Build the error; the file name is filled in by the caller that knows it."""
    return DocumentError(reason, line=line, field=field, value=value)
