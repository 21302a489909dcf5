"""Column headings as action plans write them, matched to the fields an action has.

A heading is matched ignoring case, spacing and punctuation ("Lead Agency/Officer",
"lead agency officer" and "LEAD-AGENCY OFFICER" are one name), through the synonyms map in
the settings (`column_names`), whose lists replace these defaults field by field.

A heading with a note in brackets after it ("Assessment of progress (1-4)", "Target date
(dd/mm/yy)") is matched without it when it is not a name as written. Of two columns naming
one field ("Recommendation" and "Action"), the one whose heading comes first in the field's
list is read ("Action"); between two equal names, the first column. The columns no field
reads are named in the import's preview (worker/importers/cap.py).

A table is an action table when its header names at least the required fields (Action,
Lead agency and Target date); Ref, SCR Ref, Progress, Theme and RAG are read when present.
A table without a Ref column, all of whose headings are known, numbers its actions itself
(`worker/importers/cap.py`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "ref": (
        "Ref",
        "No.",
        "Action no.",
        "Action number",
        "Ref no.",
        "Reference",
        "Item",
        "Item no.",
        "Number",
    ),
    "scr_refs": ("SCR Ref", "SCR", "Review", "Case", "Review ref", "LCSPR ref"),
    "text": (
        "Action",
        "Recommendation",
        "Action required",
        "Actions",
        "Action point",
        "Action points",
        "Actions agreed",
    ),
    "lead_agency": (
        "Lead agency",
        "Lead",
        "Lead Agency/Officer",
        "Owner",
        "Responsible",
        "Lead agencies",
        "Responsibility",
        "Lead officer",
        "Responsible officer",
        "Lead person",
    ),
    "target_date": (
        "Target date",
        "Target",
        "Due date",
        "Deadline",
        "By when",
        "Timescale",
        "Timescales",
        "Date",
        "Due",
        "Completion date",
        "Target completion date",
    ),
    "progress": (
        "Progress",
        "Progress update",
        "Update",
        "Comments",
        "Progress presented to Committee",
        "Progress to date",
        "Latest update",
    ),
    "rag": ("RAG", "Status", "RAG status", "RAG rating", "Assessment of progress", "Rating"),
    "theme": ("Theme",),
}
REQUIRED = ("text", "lead_agency", "target_date")
FIELD_LABELS = {
    "ref": "Ref", "scr_refs": "SCR Ref", "text": "Action", "lead_agency": "Lead agency",
    "target_date": "Target date", "progress": "Progress", "rag": "RAG", "theme": "Theme",
}  # fmt: skip


BRACKETED = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")  # "(1-4)" at a heading's end


def folded(name: str) -> str:
    """A heading as it is matched: letters and digits only, in one case."""
    return re.sub(r"[\W_]+", "", name.casefold())


def heading_row(cells: Sequence[str]) -> str:
    """A table's heading row as a column map is saved under: its headings folded, in order."""
    return "|".join(name for cell in cells if (name := folded(cell)))


def merged_names(given: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The defaults with `given` lists in place of theirs; ValueError for an unknown field,
    an empty list, or a name given to two fields."""
    unknown = sorted(set(given) - set(DEFAULT_NAMES))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields: {', '.join(DEFAULT_NAMES)})")
    names = DEFAULT_NAMES | {field: tuple(v) for field, v in given.items()}
    owner: dict[str, str] = {}
    for field, written in names.items():
        if not written:
            raise ValueError(f"{field}: at least one heading is needed")
        for name in written:
            other = owner.setdefault(folded(name), field)
            if other != field:
                raise ValueError(f"{name!r} is a heading of both {other} and {field}")
    return names


@dataclass(frozen=True)
class Columns:
    """Which field each heading names."""

    fields: Mapping[str, str]  # folded heading -> field
    # folded heading -> its place in its field's list of names: of two columns naming one
    # field, the one whose heading ranks lower is read
    ranks: Mapping[str, int] = dataclasses.field(default_factory=dict)
    mapped: bool = False  # named for one plan: its other headings are its own, not a Ref
    without: frozenset[str] = frozenset()  # fields the plan does not have (ref, target_date)
    row: str | None = None  # a map saved for one heading row (`heading_row`) reads only it

    @classmethod
    def of(cls, names: Mapping[str, Sequence[str]]) -> Columns:
        fields = {folded(n): name for name, written in names.items() for n in written}
        ranks = {folded(n): rank for written in names.values() for rank, n in enumerate(written)}
        return cls(fields, ranks)

    def named(self, cell: str) -> str | None:
        """The heading as the fields know it: as written, else without its bracketed note;
        None when no field has it."""
        if folded(cell) in self.fields:
            return folded(cell)
        bare = folded(BRACKETED.sub("", cell))
        return bare if bare in self.fields else None

    def picks(self, cells: Sequence[str]) -> dict[str, int]:
        """The position of each field `cells` name: of two naming one field, the one whose
        name ranks first, else the first column."""
        found: dict[str, tuple[int, int]] = {}
        for index, cell in enumerate(cells):
            if (name := self.named(cell)) is not None:
                rank = (self.ranks.get(name, 0), index)
                found[self.fields[name]] = min(found.get(self.fields[name], rank), rank)
        return {field: index for field, (_, index) in found.items()}

    def header(self, cells: Sequence[str]) -> dict[str, int] | None:
        """Each field's position (`picks`) when `cells` is an action table's header row,
        else None."""
        if self.row is not None and heading_row(cells) != self.row:
            return None
        found = self.picks(cells)
        unknown = any(folded(cell) and self.named(cell) is None for cell in cells)
        if not all(f in found for f in REQUIRED if f not in self.without):
            return None
        # Without a Ref column the rows are numbered; but an unknown heading may name the
        # plan's own references, so such a table is not taken for one until it is named.
        return found if "ref" in found or not unknown or self.mapped else None


DEFAULT_COLUMNS = Columns.of(DEFAULT_NAMES)
