"""A document as the importers read it: its lines, and where each came from in a document
that has no lines of its own ("table 2, row 5", "sheet Actions, row 7"), so that a refusal
names a place its reader can find."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Read:
    """A document's lines, and where in the document each came from."""

    lines: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)

    def add(self, line: str, place: str) -> None:
        self.lines.append(line)
        self.places.append(place)
