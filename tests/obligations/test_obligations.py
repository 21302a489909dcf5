"""The obligations package on its own: events and their rules, the view, the session's clock,
and the commands that record events through it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.db import session_factory, transaction
from worker.models import (
    Action,
    ActionLead,
    ActionStatus,
    Agency,
    Establishment,
    MISheet,
    Obligation,
    ObligationEvent,
    Plan,
    SheetType,
)
from worker.obligations import (
    EventRefusedError,
    completed,
    engine_view,
    record_event,
    sync_obligations,
    uid,
    view_of,
)
from worker.settings import load_settings

ON = date(2017, 2, 16)
BY = "someone@example.org"


def action_row(agency: Agency | None = None, target: date | None = date(2017, 2, 1)) -> Obligation:
    plan = Plan(title="Composite Action Plan 2016", source_file="cap.txt")
    action = Action(plan=plan, ref="4.6", theme="Training", scr_refs=[], text="Audit " * 20,
                    lead_agency_text="Health", target_date=target, progress="Under way",
                    status=ActionStatus.OPEN)  # fmt: skip
    kind = "unassigned" if agency is None else "action"
    return Obligation(key="action:1:agency:1", kind=kind, action=action, action_id=1,
                      agency=agency, lead_name=None if agency else "YOT", target_date=target,
                      stage=-1, events=[])  # fmt: skip


def sheet_row() -> Obligation:
    sheet = MISheet(number="3/17", title="Prevent duty refresher", sheet_type=SheetType.ACTION,
                    links=[], source_file="mi.txt")  # fmt: skip
    place = Establishment(name="Riverside Primary School", email="dsl@example.org")
    return Obligation(key="mi:1:establishment:1", kind="mi_sheet", mi_sheet=sheet,
                      establishment=place, target_date=date(2017, 3, 1), stage=-1,
                      events=[])  # fmt: skip


def test_each_kind_of_event_does_what_it_says() -> None:
    row = action_row(Agency(id=1, name="Health"))
    record_event(row, "acknowledged", ON, BY, "in hand")
    record_event(row, "noted", ON, BY, "half the audits done")
    assert not completed(row)
    row.resolved_on = ON
    record_event(row, "completed", ON, BY)
    assert completed(row)
    record_event(row, "reopened", ON + timedelta(days=1), BY, "audit found wanting")
    assert not completed(row)
    assert row.resolved_on is None
    row.resolved_on = ON
    record_event(row, "retargeted", ON, BY, "new date agreed", new_target=date(2017, 6, 1))
    assert row.resolved_on is None
    assert [e.kind for e in row.events] == [
        "acknowledged", "noted", "completed", "reopened", "retargeted"
    ]  # fmt: skip
    assert all(e.by == BY and e.on >= ON for e in row.events)


@pytest.mark.parametrize(
    ("kind", "note", "new_target", "refusal"),
    [
        ("acknowledged", "", None, "a progress note is needed"),
        ("noted", "   ", None, "a progress note is needed"),
        ("retargeted", "later", None, "a new target date is needed"),
        ("completed", "", date(2017, 6, 1), "only a retarget has one"),
        ("reopened", "why", None, "not complete, so there is nothing to reopen"),
        ("reassigned", "", None, "the agency to reassign it to is needed"),
        ("waived", "", None, "unknown event 'waived'"),
    ],
)
def test_a_refused_event_changes_nothing(
    kind: str, note: str, new_target: date | None, refusal: str
) -> None:
    row = action_row(Agency(id=1, name="Health"))
    row.resolved_on = ON
    with pytest.raises(EventRefusedError, match=refusal):
        record_event(row, kind, ON, BY, note, new_target)
    assert row.events == []
    assert row.resolved_on == ON


@pytest.mark.parametrize("kind", ["acknowledged", "noted", "completed"])
def test_nothing_more_happens_to_a_completed_item_but_a_retarget_or_reopening(kind: str) -> None:
    row = action_row(Agency(id=1, name="Health"))
    record_event(row, "completed", ON, BY)
    with pytest.raises(EventRefusedError, match="already complete"):
        record_event(row, kind, ON, BY, "more")
    assert len(row.events) == 1


def test_reassigning_moves_an_unassigned_item_to_an_agency_and_keeps_its_record() -> None:
    row = action_row(None)
    row.stage = 2
    police = Agency(id=7, name="Police")
    event = record_event(row, "reassigned", ON, BY, agency=police)
    assert (row.agency, row.kind, row.lead_name, row.stage) == (police, "action", None, 2)
    assert event.note == "reassigned from YOT to Police"
    with pytest.raises(EventRefusedError, match="already with Police"):
        record_event(row, "reassigned", ON, BY, agency=police)
    with pytest.raises(EventRefusedError, match="only a CAP action"):
        record_event(sheet_row(), "reassigned", ON, BY, agency=police)


def test_the_ladder_sees_only_the_events_that_move_it() -> None:
    row = action_row(Agency(id=1, name="Health"))
    record_event(row, "noted", ON, BY, "progress")
    record_event(row, "acknowledged", ON, BY, "in hand")
    record_event(row, "reassigned", ON, BY, agency=Agency(id=2, name="Police"))
    assert [e.kind for e in engine_view(row).events] == ["acknowledged"]


def test_one_view_for_an_action_and_for_an_mi_sheet() -> None:
    action = view_of(action_row(Agency(id=1, name="Health")))
    assert (action.ref, action.label) == ("4.6", "4.6 (Composite Action Plan 2016)")
    assert (action.source, action.theme, action.progress) == (
        "Composite Action Plan 2016", "Training", "Under way"
    )  # fmt: skip
    assert action.summary.startswith("CAP 4.6 Audit Audit")
    assert action.summary.endswith("…")
    assert len(action.summary) <= len("CAP 4.6 ") + 60
    sheet = view_of(sheet_row())
    assert (sheet.ref, sheet.label, sheet.theme, sheet.progress) == (
        "MI 3/17", "MI 3/17", "MI sheets", ""
    )  # fmt: skip
    assert sheet.summary == "MI 3/17, Riverside Primary School: Prevent duty refresher"
    assert uid(sheet, "example.org") != uid(action, "example.org")
    assert uid(sheet, "example.org") == uid(view_of(sheet_row()), "example.org")


def test_new_rows_are_stamped_by_the_applications_clock(app: App, tmp_path: Path) -> None:
    shifted = App(load_settings(clock_offset=timedelta(days=-3000)))
    try:
        with transaction(shifted.sessions) as session:
            session.add(Plan(title="Stamped", source_file="x.txt"))
        with shifted.sessions() as session:
            stamped = session.scalar(select(Plan.imported_at).where(Plan.title == "Stamped"))
    finally:
        shifted.close()
    assert stamped is not None
    assert abs(stamped - (datetime.now(UTC) - timedelta(days=3000))) < timedelta(minutes=5)


def test_a_session_without_the_applications_clock_cannot_write(app: App) -> None:
    bare = sessionmaker(app.engine)
    with bare() as session:
        session.add(Plan(title="Unstamped", source_file="x.txt"))
        with pytest.raises(RuntimeError, match="no clock"):
            session.flush()
    clocked = session_factory(app.engine, app.now)
    with clocked() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0


def test_read_commands_write_nothing(app: App) -> None:
    run_import(app, seed("002"))
    for command in (["escalation", "status", "--json"], ["escalation", "explain", "4.6"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Obligation)) == 0
        assert session.scalar(select(func.count()).select_from(ObligationEvent)) == 0


def test_note_reopen_and_reassign_from_the_command_line(app: App, tmp_path: Path) -> None:
    text = seed("002").read_text(encoding="utf-8").replace("\tMASH\t", "\tYouth Offending Team\t")
    path = tmp_path / "cap.txt"
    path.write_text(text, encoding="utf-8")
    run_import(app, path)
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
        lead = session.scalars(select(ActionLead).where(ActionLead.agency_id.is_(None))).first()
        assert lead is not None
        ref = lead.action.ref

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args))
        return result.exit_code, result.output

    assert run("note", ref, "--by", BY, "--note", "first draft")[0] == 0
    code, output = run("reopen", ref, "--by", BY, "--reason", "not done")
    assert code != 0
    assert "not complete, so there is nothing to reopen" in output
    assert "no agency called 'Nobody'" in run("reassign", ref, "Nobody", "--by", BY)[1]
    assert run("reassign", ref, "Police", "--by", BY)[0] == 0
    assert "no item to move" in run("reassign", ref, "Police", "--by", BY)[1]
    assert run("complete", ref, "--by", BY)[0] == 0
    assert run("reopen", ref, "--by", BY, "--reason", "audit found wanting")[0] == 0
    records = json.loads(run("escalation", "status", "--json")[1])
    mine = [r for r in records if r["ref"].startswith(f"{ref} (")]
    assert any(r["owner"] == "Police" and not r["unassigned"] for r in mine)
    with app.sessions() as session:
        kinds = session.scalars(
            select(ObligationEvent.kind)
            .join(ObligationEvent.obligation)
            .join(Obligation.action)
            .where(Action.ref == ref, ObligationEvent.by == BY)
            .order_by(ObligationEvent.id)
        ).all()
    moved = [k for k in kinds if k != "noted"]
    assert "noted" in kinds
    assert moved[moved.index("reassigned") :] == ["reassigned", "completed", "reopened"]
