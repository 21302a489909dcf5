"""The directory in the database, directly: people, aliases, line managers, schools, leads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import ROOT
from worker.app import App
from worker.db import transaction
from worker.directory.entries import Directory, directory_from, find_agency, sync_directory
from worker.directory.names import fold
from worker.models import Action, ActionLead, ActionStatus, Contact, Establishment, Plan, Role

BASE: dict[str, Any] = {
    "partnership": {
        "name": "Test Partnership",
        "business_manager": {"name": "Manager", "email": "manager@example.org"},
        "independent_chair": {"name": "Chair", "email": "chair@example.org"},
    },
    "themes": ["Professional curiosity"],
    "groups": ["schools", "nurseries"],
}


def directory(agencies: list[dict[str, Any]], **more: Any) -> Directory:
    return directory_from(ROOT / "directory.yaml", {**BASE, "agencies": agencies, **more})


def health(*contacts: dict[str, Any], aliases: tuple[str, ...] = ("NHS",)) -> dict[str, Any]:
    return {"name": "Health", "aliases": list(aliases), "contacts": list(contacts)}


NURSE = {"role": "named_contact", "name": "Nurse", "email": "Nurse@Example.org"}
BOSS = {"role": "line_manager", "name": "Boss", "email": "boss@example.org"}
OTHER = {"role": "line_manager", "name": "Other Boss", "email": "other@example.org"}


def contacts(session: Session) -> dict[str, tuple[Role, str | None]]:
    rows = session.scalars(select(Contact))
    return {c.email: (c.role, c.line_manager.email if c.line_manager else None) for c in rows}


def test_names_fold_for_comparison() -> None:
    assert fold("  Children\u2019s   Services ") == fold("children's services")
    assert fold("NHS") != fold("NSH")


def test_sync_adds_people_links_line_managers_and_removes_leavers(app: App) -> None:
    with transaction(app.sessions) as session:
        sync_directory(session, directory([health(NURSE, BOSS)]))
    with app.sessions() as session:
        found = contacts(session)
        assert found["nurse@example.org"] == (Role.NAMED_CONTACT, "boss@example.org")
        assert found["manager@example.org"] == (Role.BUSINESS_MANAGER, None)
    # The nurse now reports to someone else by name; the old line manager leaves.
    with transaction(app.sessions) as session:
        nurse = {**NURSE, "reports_to": "other@example.org"}
        sync_directory(session, directory([health(nurse, OTHER)]))
    with app.sessions() as session:
        found = contacts(session)
        assert found["nurse@example.org"] == (Role.NAMED_CONTACT, "other@example.org")
        assert "boss@example.org" not in found


def test_aliases_find_the_agency_and_leads_follow_them(app: App) -> None:
    with transaction(app.sessions) as session:
        sync_directory(session, directory([health(NURSE, aliases=("NHS",))]))
        plan = Plan(title="CAP", source_file="cap.txt")
        action = Action(plan=plan, ref="1.1", theme="T", scr_refs=[], text="x",
                        lead_agency_text="CCG", progress="", status=ActionStatus.OPEN)  # fmt: skip
        action.leads = [ActionLead(position=0, name="CCG")]
        session.add(action)
        session.flush()
        assert find_agency(session, " nhs ") is not None
        assert find_agency(session, "CCG") is None
    with app.sessions() as session:
        assert session.scalars(select(ActionLead.agency_id)).one() is None
    with transaction(app.sessions) as session:
        sync_directory(session, directory([health(NURSE, aliases=("CCG",))]))
        agency = find_agency(session, "ccg")
        assert agency is not None
        assert agency.name == "Health"
        assert find_agency(session, "NHS") is None  # an alias taken away
    with app.sessions() as session:
        assert session.scalars(select(ActionLead.agency_id)).one() == agency.id


def test_establishments_join_the_groups_the_directory_gives(app: App) -> None:
    school = {"name": "Riverside", "email": "DSL@Riverside.example.org", "groups": ["schools"]}
    with transaction(app.sessions) as session:
        sync_directory(session, directory([health(NURSE)], establishments=[school]))
    with transaction(app.sessions) as session:
        moved = {**school, "groups": ["schools", "nurseries"], "contact": "Ms Head"}
        sync_directory(session, directory([health(NURSE)], establishments=[moved]))
    with app.sessions() as session:
        place = session.scalars(
            select(Establishment).where(Establishment.name == "Riverside")
        ).one()
        assert place.email == "dsl@riverside.example.org"
        assert place.contact_name == "Ms Head"
        assert sorted(g.name for g in place.groups) == ["nurseries", "schools"]
