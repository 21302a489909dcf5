"""`reminders escalate`, on both databases: a stage on request entered when asked, with who
and why in the record and in `escalation explain`, told at the next tick; never downwards."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from tests.conftest import new_version, seed
from tests.rules.test_within_the_day import chosen, key_ref, notices, tick, utc
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.versions import RULES
from worker.db import transaction
from worker.mail.digest import Digest
from worker.models import Obligation, ObligationEvent, StageChange
from worker.obligations import keep_in_step

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "escalation.yaml"
ON_REQUEST = SHIPPED.read_text(encoding="utf-8").replace(
    "    enters_after: 5\n    tell: [senior_safeguarding_lead",
    "    enters_after: on_request\n    tell: [senior_safeguarding_lead")  # fmt: skip
BM = "business.manager@example.org"


def run(*args: str) -> tuple[int, str]:
    found = CliRunner().invoke(main, list(args))
    return found.exit_code, found.output + (repr(found.exception) if found.exit_code else "")


def test_escalated_on_request_with_who_and_why(app: App, tmp_path: Path) -> None:
    rules = tmp_path / "escalation.yaml"
    rules.write_text(ON_REQUEST, encoding="utf-8")
    checked = run("rules", "check", str(rules))
    assert checked[0] == 0, checked[1]
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        keep_in_step(session, app.rules(), app.timezone, app.today())
    new_version(app, RULES, ON_REQUEST)
    key, day = chosen(app)
    ref = key_ref(app, key)
    tick(app, day, 8, 1)
    with freeze_time(utc(day, 15, 20)):
        code, said = run("escalate", *ref, "--by", BM, "--reason", "no agreement reached",
                         "--to-stage", "3")  # fmt: skip
        assert code == 0, said
        explained = run("escalation", "explain", *ref)[1]
        down = run("escalate", *ref, "--by", BM, "--reason", "wrong", "--to-stage", "2")
    assert "escalated for" in said
    assert ("entered stage 3 Senior manager / designated safeguarding lead at 15:20: escalated "
            f"on request to stage 3: no agreement reached (by {BM})") in explained  # fmt: skip
    assert "stage 3 Senior manager / designated safeguarding lead: on request" in explained
    assert down[0] != 0
    assert "already at stage 3: an escalation only goes up" in down[1]
    tick(app, day, 15, 21)
    told = notices(app)
    items = [i for n in told for i in Digest.from_json(n.payload).items if i.key == key]
    assert items
    assert {i.stage for i in items} == {3}
    with app.sessions() as session:
        row = session.scalar(select(Obligation).where(Obligation.key == key))
        assert row is not None
        assert row.stage == 3
        [event] = [e for e in row.events if e.kind == "escalated"]
        assert (event.by, event.note, event.stage) == (BM, "no agreement reached", 3)
        assert event.at is not None
        assert event.at.strftime("%H:%M") == "15:20"
        changes = session.scalars(select(StageChange).where(StageChange.obligation_id == row.id)
                                  .order_by(StageChange.id)).all()  # fmt: skip
        assert [c.to_stage for c in changes][-1] == 3
        assert "escalated on request" in changes[-1].reason
        assert (
            session.scalar(select(ObligationEvent).where(ObligationEvent.note == "wrong")) is None
        )
