"""The directory says who an item's lead is, never whether the item exists.

An alias added or taken away, an agency renamed, a contact moved: any sequence of directory
versions leaves every item as it was (its identity, completion, acknowledgement, events and a
reassignment made by hand), except which agency its lead is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from tests.conftest import new_version
from tests.support.helpers import run_import
from worker.app import App
from worker.config.versions import DIRECTORY
from worker.db import alembic_config, transaction
from worker.models import Agency, Obligation
from worker.obligations import completed, record_event

PLAN = """plan,ref,theme,scr_refs,action,lead_agency,target_date,progress
Plan of the test,1.1,Professional curiosity,A,Review the strategy discussion audit.,DCS,02/11/2026,Started.
Plan of the test,1.2,Professional curiosity,A,Brief GPs on the findings.,Health/KA,03/11/2026,Started.
Plan of the test,1.3,Professional curiosity,A,Re-audit ten strategy discussions.,Police,04/11/2026,Started.
Plan of the test,1.4,Professional curiosity,A,Publish the neglect toolkit.,Children's Services,05/11/2026,Started.
Plan of the test,1.5,Professional curiosity,A,Joint visits to the MASH.,DCS/Police,06/11/2026,Started.
"""
CONFIG = Path(__file__).resolve().parents[2] / "config" / "directory.yaml"
# What a business manager might change, each on or off in a version.
EDITS = ("DCS an alias", "KA an alias", "Police renamed", "contact moved", "DCS elsewhere")


def directory(edits: frozenset[str]) -> str:
    data: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    agencies = {a["name"]: a for a in data["agencies"]}
    if "DCS an alias" in edits:
        agencies["Children's Services"]["aliases"].append("DCS")
    elif "DCS elsewhere" in edits:
        agencies["Safeguarding Partnership"]["aliases"].append("DCS")
    if "KA an alias" in edits:
        agencies["Health"]["aliases"].append("KA")
    if "Police renamed" in edits:
        agencies["Police"]["name"] = "Norfolk Constabulary"
    if "contact moved" in edits:
        moved = agencies["Children's Services"]["contacts"].pop(0)
        agencies["Education"]["contacts"][0] = {**moved, "role": "named_contact"}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def follow(app: App) -> None:
    assert app.follow_change()


Record = dict[int, tuple[str, bool, list[tuple[str, str, str]]]]


def record_of(app: App) -> Record:
    """Each item by id: its key, whether complete, and its events (kind, by, note)."""
    with app.sessions() as session:
        rows = session.scalars(select(Obligation).options(selectinload(Obligation.events)))
        return {
            r.id: (r.key, completed(r), [(e.kind, e.by, e.note) for e in r.events]) for r in rows
        }


def leads(app: App) -> dict[str, str | None]:
    with app.sessions() as session:
        rows = session.scalars(select(Obligation).options(selectinload(Obligation.agency)))
        return {f"{r.action.ref} {r.document_lead}": r.agency.name if r.agency else None
                for r in rows if r.action is not None}  # fmt: skip


def started(app: App, tmp_path: Path) -> None:
    """The plan imported; one item acknowledged, one completed, one reassigned by hand."""
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    run_import(app, plan)
    follow(app)
    with transaction(app.sessions) as session:
        rows = {f"{r.action.ref} {r.document_lead}": r for r in session.scalars(select(Obligation))
                if r.action is not None}  # fmt: skip
        today = app.today()
        record_event(rows["1.4 Children's Services"], "acknowledged", today, "bm@example.org",
                     "Toolkit with the printers")  # fmt: skip
        record_event(rows["1.3 Police"], "completed", today, "bm@example.org", "Done")
        education = session.scalar(select(Agency).where(Agency.name == "Education"))
        record_event(rows["1.2 KA"], "reassigned", today, "bm@example.org", agency=education)
    follow(app)


def test_an_alias_added_makes_the_lead_known_and_keeps_the_item(app: App, tmp_path: Path) -> None:
    started(app, tmp_path)
    before = record_of(app)
    assert leads(app)["1.1 DCS"] is None  # unassigned: nobody's alias
    new_version(app, DIRECTORY, directory(frozenset({"DCS an alias"})))
    follow(app)
    assert record_of(app) == before  # no item ended, none made, no event
    found = leads(app)
    assert found["1.1 DCS"] == "Children's Services"
    assert found["1.5 DCS"] == "Children's Services"
    assert found["1.2 KA"] == "Education"  # given by hand, kept
    with app.sessions() as session:
        row = session.scalar(select(Obligation).where(Obligation.document_lead == "DCS"))
        assert row is not None
        assert row.kind == "action"
        assert row.lead_name is None


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(versions=st.lists(st.frozensets(st.sampled_from(EDITS)), min_size=1, max_size=4))
def test_any_sequence_of_directory_versions_keeps_every_item(
    app: App, tmp_path: Path, versions: list[frozenset[str]]
) -> None:
    if not record_of(app):  # the first example: the plan once, then each example on top
        started(app, tmp_path)
    before = record_of(app)
    for edits in versions:
        new_version(app, DIRECTORY, directory(edits))
        follow(app)
        assert record_of(app) == before, edits
        expected = "Children's Services" if "DCS an alias" in edits else (
            "Safeguarding Partnership" if "DCS elsewhere" in edits else None)  # fmt: skip
        assert leads(app)["1.1 DCS"] == expected
        assert leads(app)["1.2 KA"] == "Education"
    new_version(app, DIRECTORY, directory(frozenset()))
    follow(app)
    assert record_of(app) == before


def test_items_made_before_they_knew_their_lead_learn_it_from_their_keys(
    app: App, tmp_path: Path
) -> None:
    """Keys of the old shape (an agency's id, or an unassigned lead's position) give each
    item its lead when the database is upgraded; the alias then finds the same item."""
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    run_import(app, plan)
    follow(app)
    config = alembic_config(app.engine)
    command.downgrade(config, "0023")
    with app.engine.begin() as connection:
        connection.execute(text(
            "UPDATE obligations SET key = 'action:' || action_id || ':agency:' || agency_id "
            "WHERE agency_id IS NOT NULL"))  # fmt: skip
        connection.execute(text(
            "UPDATE obligations SET key = 'action:' || action_id || ':lead:' || "
            "(SELECT position FROM action_leads l WHERE l.action_id = obligations.action_id "
            "AND l.name = obligations.lead_name) WHERE agency_id IS NULL "
            "AND action_id IS NOT NULL"))  # fmt: skip
    command.upgrade(config, "head")
    before = record_of(app)
    assert all(":agency:" in key or ":lead:" in key for key, _, _ in before.values())
    assert sorted(leads(app)) == ["1.1 DCS", "1.2 Health", "1.2 KA", "1.3 Police",
                                  "1.4 Children's Services", "1.5 DCS", "1.5 Police"]  # fmt: skip
    new_version(app, DIRECTORY, directory(frozenset({"DCS an alias"})))
    follow(app)
    assert record_of(app) == before
    assert leads(app)["1.5 DCS"] == "Children's Services"
