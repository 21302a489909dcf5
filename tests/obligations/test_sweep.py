"""The sweep over imported documents: obligations, stages on fixed days, the written record."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import seed, use_la_contacts
from tests.support.helpers import TODAY, records, run_import
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.delivery.planning import plan
from worker.mail.digest import Digest
from worker.models import Delivery, Obligation, StageChange
from worker.obligations import Assessment, assess, record, record_event, sync_obligations

DAY = timedelta(days=1)
ENGLAND = holidays.country_holidays("GB", subdiv="ENG", years=range(2016, 2020))


def working(d: date) -> bool:
    return d.weekday() < 5 and d not in ENGLAND


def after(d: date, n: int) -> date:
    """The n-th working day after d, counted one day at a time (the test's own oracle)."""
    while n:
        d += DAY
        n -= working(d)
    return d


def expected_entries(target: date) -> list[date]:
    first = after(target, 1)
    return [first, after(first, 5), after(after(first, 5), 5), after(after(after(first, 5), 5), 5)]


def on_day(app: App, today: date) -> list[Assessment]:
    with transaction(app.sessions) as session:
        rules = app.rules()
        sync_obligations(session, rules, app.timezone, date(2016, 1, 4))
        session.flush()
        return assess(session, rules, today)


def stages(app: App, today: date) -> dict[str, int]:
    return {a.row.key: a.decision.stage for a in on_day(app, today)}


def keys_for(app: App, ref: str) -> list[str]:
    with app.sessions() as session:
        rows = session.scalars(select(Obligation).order_by(Obligation.key))
        return [
            o.key
            for o in rows
            if (o.action and o.action.ref == ref) or (o.mi_sheet and o.mi_sheet.number == ref)
        ]


def test_every_dated_seed_action_climbs_on_the_expected_days(app: App) -> None:
    run_import(app, seed("002"))
    on_day(app, date(2016, 1, 4))
    with app.sessions() as session:
        rows = [(o.key, o.target_date) for o in session.scalars(select(Obligation))
                if o.kind == "action"]  # fmt: skip
    assert len(rows) == 21  # 22 actions, less 4.2 (Ongoing) and 2.4 (complete), plus 2.2 twice
    days = {
        d + shift for _, t in rows if t for d in expected_entries(t) for shift in (-DAY, 0 * DAY)
    }
    seen = {d: stages(app, d) for d in sorted(days)}
    for key, target in rows:
        assert target is not None
        for stage, entry in enumerate(expected_entries(target), start=1):
            assert seen[entry - DAY][key] == stage - 1, (key, entry)
            assert seen[entry][key] == stage, (key, entry)


def test_health_nscb_action_escalates_in_both_agencies(app: App) -> None:
    run_import(app, seed("002"))
    found = {
        a.owner.label: a
        for a in on_day(app, date(2017, 5, 15))
        if a.row.action and a.row.action.ref == "2.2"
    }
    assert set(found) == {"Health", "Safeguarding Partnership"}
    health = found["Health"]
    assert health.decision.stage == 2
    assert [r.email for r in health.recipients] == [
        "designated.nurse@example.org",
        "health.safeguarding@example.org",
    ]
    assert health.recipients[1].reason == "line manager of Designated Nurse (Health)"


def test_mi_sheet_3_17_for_each_school_and_the_la_contact_from_stage_3(seed_contacts: App) -> None:
    app = seed_contacts
    run_import(app, seed("000"))
    on_day(app, date(2017, 1, 10))
    keys = keys_for(app, "3/17")
    assert len(keys) == 4  # the four schools of the shipped directory
    for entry, stage in zip(
        [date(2017, 3, 15), date(2017, 3, 22), date(2017, 3, 29), date(2017, 4, 5)],
        range(1, 5),
        strict=True,
    ):
        assert {stages(app, entry - DAY)[k] for k in keys} == {stage - 1}
        assert {stages(app, entry)[k] for k in keys} == {stage}
    by_stage = {a.decision.stage: a for a in on_day(app, date(2017, 3, 29)) if a.row.key == keys[0]}
    third = [r.email for r in by_stage[3].recipients]
    assert "daniel.halls@example.org" in third  # the directory's address
    assert "daniel.halls@norfolk.gov.uk" not in third  # never the one the sheet prints
    [second] = [a for a in on_day(app, date(2017, 3, 28)) if a.row.key == keys[0]]
    assert "daniel.halls@example.org" not in [r.email for r in second.recipients]


def test_an_mi_sheet_with_no_group_is_owned_by_its_la_contact(
    seed_contacts: App, tmp_path: pytest.TempPathFactory
) -> None:
    app = seed_contacts
    text = (
        seed("000")
        .read_text(encoding="utf-8")
        .replace("Audience:A Senior Member of staff", "Audience:Governors")
    )
    path = tmp_path / "governors.txt"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    run_import(app, path)
    [found] = on_day(app, date(2017, 3, 15))
    assert found.owner.label == "LA contact Daniel Halls"
    assert [r.email for r in found.recipients] == ["daniel.halls@example.org"]


def test_an_unknown_lead_agency_goes_straight_to_the_business_manager(
    app: App, tmp_path: pytest.TempPathFactory
) -> None:
    text = seed("002").read_text(encoding="utf-8").replace("\tMASH\t", "\tYouth Offending Team\t")
    path = tmp_path / "cap.txt"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    run_import(app, path)
    [found] = [a for a in on_day(app, date(2016, 6, 1)) if a.row.kind == "unassigned"]
    assert found.decision.flagged_unassigned
    assert found.decision.stage == -1  # years before its target date, and still flagged
    assert [r.email for r in found.recipients] == ["business.manager@example.org"]


def test_record_writes_each_stage_change_once(app: App) -> None:
    run_import(app, seed("002"))
    day = date(2017, 1, 10)
    while day <= date(2017, 3, 1):
        with transaction(app.sessions) as session:
            rules = app.rules()
            sync_obligations(session, rules, app.timezone, day)
            session.flush()
            record(session, rules, day)
        day += DAY
    [target_key] = keys_for(app, "3.1")
    with app.sessions() as session:
        rows = session.scalars(
            select(StageChange)
            .join(Obligation)
            .where(Obligation.key == target_key)
            .order_by(StageChange.id)
        )
        got = [(c.on, c.from_stage, c.to_stage) for c in rows]
    assert got == [
        (date(2017, 1, 18), -1, 0),
        (date(2017, 2, 2), 0, 1),
        (date(2017, 2, 9), 1, 2),
        (date(2017, 2, 16), 2, 3),
        (date(2017, 2, 23), 3, 4),
    ]


def test_completion_in_a_reimported_plan_ends_the_obligation(
    app: App, tmp_path: pytest.TempPathFactory
) -> None:
    run_import(app, seed("002"))
    on_day(app, date(2017, 2, 10))
    text = (
        seed("002")
        .read_text(encoding="utf-8")
        .replace("SEN newcomers and leavers", "Complete. SEN newcomers and leavers")
    )
    path = tmp_path / "cap.txt"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    run_import(app, path)
    with transaction(app.sessions) as session:
        rules = app.rules()
        sync_obligations(session, rules, app.timezone, date(2017, 2, 13))
        session.flush()
        changes = record(session, rules, date(2017, 2, 13))
        done = [c for c in changes if c.label.startswith("3.1 (")]
        assert [(c.from_stage, c.to_stage) for c in done] == [(-1, 2)]
        assert done[0].reason.startswith("resolved: progress recorded as complete")
    assert not [
        a for a in on_day(app, date(2017, 2, 14)) if a.row.action and a.row.action.ref == "3.1"
    ]


def test_an_acknowledgement_pauses_then_resumes_at_the_same_stage(app: App) -> None:
    run_import(app, seed("002"))
    on_day(app, date(2017, 1, 3))
    [key] = keys_for(app, "3.1")
    with transaction(app.sessions) as session:
        row = session.scalar(select(Obligation).where(Obligation.key == key))
        assert row is not None
        record_event(
            row, "acknowledged", date(2017, 2, 10), "education.adviser@example.org",
            "audit under way",
        )  # fmt: skip
    assert stages(app, date(2017, 2, 16))[key] == 2  # stage 3 would have come on 02-16
    paused = next(a for a in on_day(app, date(2017, 2, 16)) if a.row.key == key)
    assert paused.decision.paused_until == date(2017, 2, 23)
    assert stages(app, date(2017, 2, 24))[key] == 2
    assert stages(app, date(2017, 3, 2))[key] == 3


def test_an_la_contact_missing_from_the_directory_is_told_nothing_and_listed(
    app: App, tmp_path: pytest.TempPathFactory
) -> None:
    """Seed 000 prints daniel.halls@norfolk.gov.uk; with nobody of that name in the shipped
    directory, nobody is mailed as its LA contact, and the business manager hears why."""
    text = seed("000").read_text(encoding="utf-8").replace("norfolk.gov.uk", "evil.example")
    path = tmp_path / "mi.txt"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    run_import(app, path)
    everyone = {r.email for a in on_day(app, date(2017, 3, 29)) for r in a.recipients}
    assert not [e for e in everyone if "halls" in e or "evil" in e]
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "warning: MI 3/17: LA contact Daniel Halls is not in the directory" in result.output
    assert "daniel.halls@evil.example, which is never mailed" in result.output
    with transaction(app.sessions) as session:
        plan(session, app.rules(), app.timezone, date(2017, 3, 29), "NSCP")
    with app.sessions() as session:
        rows = list(session.scalars(select(Delivery)))
    assert not [r for r in rows if "evil" in r.recipient]
    [manager] = [r for r in rows if r.recipient == "business.manager@example.org"]
    [note] = Digest.from_json(manager.payload).attention
    assert (note.subject, note.since) == ("MI 3/17", TODAY.isoformat())
    assert note.problem.startswith("LA contact Daniel Halls is not in the directory")


def test_the_la_contact_is_matched_by_name_whatever_the_case_and_spacing(
    seed_contacts: App, tmp_path: pytest.TempPathFactory
) -> None:
    app = seed_contacts
    text = seed("000").read_text(encoding="utf-8")
    text = text.replace("LA Contact:Daniel Halls", "LA Contact:daniel   HALLS")
    path = tmp_path / "mi.txt"  # type: ignore[operator]
    path.write_text(text.replace("Audience:A Senior Member of staff", "Audience:Governors"))
    run_import(app, path)
    [found] = on_day(app, date(2017, 3, 15))
    assert [r.email for r in found.recipients] == ["daniel.halls@example.org"]
    result = CliRunner().invoke(main, ["config", "check"])
    assert "warning" not in result.output


HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"


@pytest.mark.parametrize("listed", [False, True])
def test_an_address_written_in_a_sheet_is_never_mailed(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: bool
) -> None:
    """Sam Jones, the sheet's LA contact, is told at the directory's address or not at all."""
    if listed:
        use_la_contacts(
            app, monkeypatch, tmp_path / "config", {"Sam Jones": "sam.jones@example.org"}
        )
    [result] = run_import(app, HOSTILE / "mi_contact_address.txt")
    assert result.error is None
    [sheet] = records(app, "mi-sheets")
    assert sheet["contact"]["email"] == "evil@evil.example"  # kept, for display only
    [found] = on_day(app, date(2026, 12, 16))
    told = [r.email for r in found.recipients]
    assert told == (["sam.jones@example.org"] if listed else [])
    with transaction(app.sessions) as session:
        plan(session, app.rules(), app.timezone, date(2026, 12, 16), "NSCP")
    with app.sessions() as session:
        assert "evil@evil.example" not in set(session.scalars(select(Delivery.recipient)))
