"""A document as the importers read it: its lines, and where each came from in a document
that has no lines of its own ("table 2, row 5", "sheet Actions, row 7"), so that a refusal
names a place its reader can find; and the most a document may have of them, checked as
each line is added in a reading process (worker/importers/limits.py), so that a workbook
of a hundred megabytes of cells is refused at its limit, not read to its end."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from worker.importers.errors import refuse

# (lines, characters): the most one document may have, once a reading process sets it.
LIMIT: ContextVar[tuple[int, int] | None] = ContextVar("LIMIT", default=None)


@dataclass
class Read:
    """A document's lines, and where in the document each came from."""

    lines: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    characters: int = field(default=0, compare=False, repr=False)  # of the lines added

    def add(self, line: str, place: str) -> None:
        self.lines.append(line)
        self.places.append(place)
        self.characters += len(line)
        limit = LIMIT.get()
        if limit is not None and (len(self.lines) > limit[0] or self.characters > limit[1]):
            self.check(*limit)

    def check(self, lines: int, characters: int) -> None:
        """Refuses a document of more lines, or characters in them, than given."""
        if len(self.lines) > lines:
            raise refuse(f"has more than {lines:,} lines as read; that is the limit")
        if sum(map(len, self.lines)) > characters:
            raise refuse(f"has more than {characters:,} characters of text; that is the limit")
