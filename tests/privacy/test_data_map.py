"""The data map: every table has a record class, and docs/data-map.md says of each table and
kept folder what `worker/privacy/classes.py` says."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from worker.models import Base
from worker.privacy import CLASSES, FILES, TABLES
from worker.settings import Settings

ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| (.+?) \| (.+?) \|$", re.M)


def test_every_table_has_a_record_class() -> None:
    tables = set(Base.metadata.tables)
    assert sorted(tables - set(TABLES)) == [], "tables without a record class"
    assert sorted(set(TABLES) - tables) == [], "record classes for tables that are gone"
    assert {held.record_class for held in [*TABLES.values(), *FILES.values()]} <= set(CLASSES)


def test_every_kept_folder_is_a_setting() -> None:
    assert set(FILES) <= set(Settings.model_fields)


def test_the_data_map_page_says_what_the_code_says() -> None:
    page = (ROOT / "docs" / "data-map.md").read_text(encoding="utf-8")
    written = {name: (cls, personal, seen) for name, cls, personal, seen in ROW.findall(page)}
    coded = {name: (held.record_class, held.personal or "none", held.seen_by)
             for name, held in {**TABLES, **FILES}.items()}  # fmt: skip
    assert written == coded


def test_every_table_with_personal_data_says_where_a_person_is_found() -> None:
    silent = [name for name, held in TABLES.items() if held.personal and not (
        held.addresses or held.actors or held.names or held.mentions)]  # fmt: skip
    assert silent == [], "tables a subject access export and an erasure would miss"
    for name, held in TABLES.items():
        columns = set(Base.metadata.tables[name].columns.keys())
        named = {*held.addresses, *held.actors, *held.names, *held.mentions}
        assert named <= columns, f"{name}: no columns {sorted(named - columns)}"
