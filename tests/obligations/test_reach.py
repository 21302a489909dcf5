"""Whom an obligation can reach, and which obligations can reach a person."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from tests.conftest import new_version, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.config.versions import DIRECTORY
from worker.db import transaction
from worker.directory.recipients import Partnership
from worker.models import Obligation
from worker.obligations import Reach, officer_stage, owners_where, sync_obligations
from worker.rules.ladder import Ladder, LadderStage

NURSE, BOSS = "designated.nurse@example.org", "health.safeguarding@example.org"
EDUCATION = "education.adviser@example.org"


def test_a_person_reaches_their_agencys_items_and_the_officers_the_serious_ones(
    app: App,
) -> None:
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, date(2017, 2, 1))
    with app.sessions() as session:
        reach = Reach.load(session, Partnership.load(session))
        owners = owners_where(session, Obligation.key.like("action:%"))
        assert {NURSE, BOSS, EDUCATION} <= reach.people_of(owners)
        rows = list(session.scalars(select(Obligation).where(reach.rows_of([NURSE], 4))))
        assert rows
        assert {r.agency.name for r in rows if r.agency} == {"Health"}
        # The business manager reaches the items from stage 4, and every unassigned one.
        session.execute(update(Obligation).where(Obligation.id == rows[0].id).values(stage=4))
        officer = "business.manager@example.org"
        seen = list(session.scalars(select(Obligation).where(reach.rows_of([officer], 4))))
        assert rows[0] in seen
        assert all(r.stage >= 4 or r.kind == "unassigned" for r in seen)
        nobody = reach.rows_of(["nobody@example.org"], 4)
        assert not list(session.scalars(select(Obligation).where(nobody)))


def test_the_officers_stage_counts_the_ladders_copied_onto_live_items(app: App) -> None:
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, date(2017, 2, 1))
    current = app.rules().ladder()
    with transaction(app.sessions) as session:
        assert officer_stage(session, current) == 4  # the shipped ladder tells them at 4
        earlier = current.stages[1]
        told = LadderStage(earlier.number, earlier.name, earlier.enters_after,
                           (*earlier.tell, "business_manager"))  # fmt: skip
        copy = Ladder(current.due_soon_name, current.due_soon_days, current.due_soon_tell,
                      (current.stages[0], told, *current.stages[2:]),
                      current.acknowledgement_pause)  # fmt: skip
        row = session.scalars(select(Obligation)).first()
        assert row is not None
        row.ladder = copy.to_json()
        session.flush()
        assert officer_stage(session, current) == 2


def test_the_signature_moves_when_someone_takes_over_a_role(app: App) -> None:
    run_import(app, seed("002"))
    with app.sessions() as session:
        before = Reach.load(session, Partnership.load(session)).signature
        assert Reach.load(session, Partnership.load(session)).signature == before
    text = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
    new_version(app, DIRECTORY, text.replace(NURSE, "new.nurse@example.org"))
    with app.sessions() as session:
        after = Reach.load(session, Partnership.load(session))
        assert after.signature != before
        assert "new.nurse@example.org" in after.people
        assert NURSE not in after.people
