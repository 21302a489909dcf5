"""A column map: which column of one plan's tables holds each field, for a plan whose
headings the defaults and the settings do not name (`reminders import --columns FILE`).

    text: Action Point        # the heading as the plan writes it (case and spacing aside)
    lead_agency: Lead
    progress: Progress Update
    target_date: none         # the plan gives no target dates: each action is Ongoing
    ref: none                 # no references: the rows are numbered (1, 2, … or 1.1, …)

Only the map's headings are read; the plan's other columns are its own. Action and Lead are
needed; a mistake is refused naming its key, and nothing is imported.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from worker.importers.columns import Columns, folded
from worker.yaml_files import mapping, read_yaml, validated

NONE = "none"


class ColumnMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    lead_agency: str
    target_date: str = NONE
    ref: str = NONE
    scr_refs: str | None = None
    progress: str | None = None
    rag: str | None = None
    theme: str | None = None

    @field_validator("*")
    @classmethod
    def a_heading(cls, value: str | None) -> str | None:
        if value is not None and not folded(value):
            raise ValueError("a heading needs at least one letter or digit")
        return value

    def columns(self) -> Columns:
        named = {field: heading for field, heading in self.model_dump().items() if heading}
        without = {f for f in ("ref", "target_date") if folded(named[f]) == NONE}
        fields = {folded(h): f for f, h in named.items() if f not in without}
        return Columns(fields, mapped=True, without=frozenset(without))


def read_column_map(path: Path) -> Columns:
    """The map in `path`; ConfigError naming each problem by its key."""
    data = mapping(path, read_yaml(path, empty="a column map"), "a column map")
    return validated(path, ColumnMap, data).columns()
