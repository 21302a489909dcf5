"""One bad item never stops anyone's reminders: an obligation that cannot be assessed is
skipped and reported, a digest that cannot be built fails alone, on SQLite and PostgreSQL.

The poisoned rows are written straight into the database, past the importers (which now
refuse such dates), as a hand edit, an old import or another program could leave them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.cli.digests import would_send
from worker.db import transaction
from worker.delivery.ledger import deliver
from worker.delivery.planning import plan
from worker.mail.digest import Digest
from worker.mail.transport import Outbox
from worker.models import Action, Delivery, DeliveryState, Obligation
from worker.obligations import sync_obligations
from worker.obligations.assess import problem_text
from worker.workdays import BEYOND_CALENDAR

PERIOD = date(2017, 2, 16)
POISON = {"1.2": date(9999, 12, 31), "3.1": date(1, 1, 1)}
MANAGER = "business.manager@example.org"


def poison(app: App) -> None:
    """Put the placeholder dates on two seed actions, as a direct edit of the table would."""
    with transaction(app.sessions) as session:
        for ref, day in POISON.items():
            session.execute(update(Action).where(Action.ref == ref).values(target_date=day))


def poisoned_keys(app: App) -> set[str]:
    with app.sessions() as session:
        query = select(Obligation.key).join(Obligation.action).where(Action.ref.in_(POISON))
        return set(session.scalars(query))


def item_keys(digests: list[Digest]) -> dict[str, set[str]]:
    return {d.email: {i.key for i in d.items} for d in digests}


@pytest.fixture
def imported(app: App) -> App:
    [result] = run_import(app, seed("002"))
    assert result.error is None
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
    return app


def test_status_lists_the_poisoned_items_as_could_not_assess_and_the_rest_as_usual(
    imported: App,
) -> None:
    clean = CliRunner().invoke(main, ["escalation", "status", "--on", "2017-02-16", "--json"])
    assert clean.exit_code == 0, clean.output
    poison(imported)
    result = CliRunner().invoke(main, ["escalation", "status", "--on", "2017-02-16", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    failed = {r["key"]: r for r in records if r["problem"]}
    assert set(failed) == poisoned_keys(imported)
    assert all(r["problem"].startswith("could not assess: ") for r in failed.values())
    assert any(BEYOND_CALENDAR in r["problem"] for r in failed.values())
    before = {r["key"]: r["stage"] for r in json.loads(clean.output)}
    after = {r["key"]: r["stage"] for r in records if not r["problem"]}
    assert after == {k: v for k, v in before.items() if k not in failed}
    table = CliRunner().invoke(main, ["escalation", "status", "--on", "2017-02-16"])
    assert table.exit_code == 0, table.output
    assert "could not assess" in table.output


def test_the_sweep_records_the_problem_and_carries_on(imported: App) -> None:
    poison(imported)
    result = CliRunner().invoke(main, ["escalation", "run", "--on", "2017-02-16"])
    assert result.exit_code == 0, result.output
    assert "→" in result.output  # the healthy items moved up the ladder
    with imported.sessions() as session:
        rows = list(session.scalars(select(Obligation)))
    problems = {r.key: r for r in rows if r.problem}
    assert set(problems) == poisoned_keys(imported)
    assert all(r.problem_since == PERIOD and r.stage == -1 for r in problems.values())
    assert all(r.assessed_on == PERIOD for r in rows if r.key not in problems)


def test_every_digest_goes_out_without_the_poisoned_items_and_the_manager_is_told(
    imported: App,
) -> None:
    wanted = item_keys(would_send(imported, PERIOD))
    poison(imported)
    with transaction(imported.sessions) as session:
        plan(session, imported.rules(), imported.timezone, PERIOD, "NSCP")
    keys = poisoned_keys(imported)
    assert len(keys) == 2
    with imported.sessions() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.period == PERIOD)))
    digests = [Digest.from_json(r.payload) for r in rows]
    got = item_keys(digests)
    assert {email: k - keys for email, k in wanted.items() if k - keys} == {
        email: k for email, k in got.items() if k
    }
    assert all(r.state is DeliveryState.PENDING for r in rows)
    [manager] = [d for d in digests if d.email == MANAGER]
    named = {a.subject.split(" ")[0]: a.problem for a in manager.attention}
    assert set(named) == set(POISON)
    assert f"{BEYOND_CALENDAR} (target date 9999-12-31)" in named["1.2"]
    assert [d for d in digests if d.email != MANAGER and d.attention] == []


def ledger_row(app: App, email: str, payload: dict[str, Any]) -> int:
    with transaction(app.sessions) as session:
        row = Delivery(recipient=email, kind="digest", period=PERIOD, payload=payload,
                       state=DeliveryState.PENDING, subject="s", top_stage=1, attempts=0)  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def test_a_digest_that_cannot_be_rendered_fails_alone_and_is_reported(
    imported: App, tmp_path: Path
) -> None:
    [good] = [d for d in would_send(imported, PERIOD) if d.email == "education.adviser@example.org"]
    broken = good.to_json()
    broken["email"] = "police.ds@example.org"
    broken["items"][0]["target_date"] = "31/12/9999"  # the template's long_date cannot read it
    truncated: dict[str, Any] = {"name": "Practice Lead", "email": "practice.lead@example.org"}
    ids = [
        ledger_row(imported, good.email, good.to_json()),
        ledger_row(imported, "police.ds@example.org", broken),
        ledger_row(imported, "practice.lead@example.org", truncated),
    ]
    outbox = Outbox(tmp_path / "outbox")
    now = imported.now()
    outcomes = [deliver(imported.sessions, outbox, imported.settings, i, now) for i in ids]
    assert [o.state for o in outcomes] == ["sent", "failed", "failed"]
    assert "cannot build the message" in outcomes[1].reason
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    with transaction(imported.sessions) as session:
        plan(session, imported.rules(), imported.timezone, date(2017, 2, 17), "NSCP")
    with imported.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == MANAGER))
        assert row is not None
    reported = Digest.from_json(row.payload).undelivered
    assert {u.recipient for u in reported} == {"police.ds@example.org", "practice.lead@example.org"}
    assert all(u.reason.startswith("cannot build the message") for u in reported)


def test_a_reason_is_never_blank() -> None:
    assert problem_text(None, AssertionError()) == "AssertionError"
    assert problem_text(None, ValueError("bad")) == "bad"
    assert problem_text(date(2026, 1, 5), ValueError("")) == "ValueError (target date 2026-01-05)"
