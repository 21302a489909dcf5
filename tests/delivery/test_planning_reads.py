"""Planning reads only the people with something to hear, and plans what reading everyone would.

Two databases live the same months of the seed documents, day by day, with the same people
acknowledging and completing items and a named contact handing over to a successor. One plans
as the service does; the other is made to read every obligation each day. Their ledgers must
be equal, and the first must have read fewer obligations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import ROOT, new_version, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.config.versions import DIRECTORY
from worker.db import transaction
from worker.delivery import planning
from worker.delivery.planning import Listeners, plan
from worker.models import Delivery, DocumentSync, Obligation
from worker.obligations import keep_in_step, record_event, stream
from worker.settings import load_settings

START, END = date(2017, 1, 2), date(2017, 3, 31)
# On Thursday 23 February Children's Services' named contact hands over. Their item 4.5 has
# been due soon since the 15th (no news this week, no daily digest): only a change in who
# reaches what can tell planning that the successor is due a digest that day.
HANDOVER = date(2017, 2, 23)
SUCCESSOR = "new.practice.lead@example.org"


@dataclass
class Reads:
    """How many obligations planning read for the inboxes, day by day."""

    per_day: dict[date, int] = field(default_factory=dict)
    today: date = START

    def spy(self, stream: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Iterator[Obligation]:
            for row in stream(*args, **kwargs):
                self.per_day[self.today] = self.per_day.get(self.today, 0) + 1
                yield row

        return counted


def configured(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> App:
    config = folder / name
    config.mkdir()
    for file in ("settings.yaml", "escalation.yaml", "directory.yaml"):
        (config / file).write_text((ROOT / "config" / file).read_text(encoding="utf-8"))
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(config))
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{folder / name}.db")
    app = App(load_settings())
    app.initialise()
    run_import(app, seed("000"), seed("002"), seed("003"))
    return app


def hand_over(app: App) -> None:
    text = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
    new_version(app, DIRECTORY, text.replace("practice.lead@example.org", SUCCESSOR))


def act(session: Session, day: date) -> None:
    """Someone acknowledges the first item at stage 2 on Tuesdays and completes the first
    item at stage 1 on Thursdays (the same item in both databases: same documents)."""
    kind, stage = {1: ("acknowledged", 2), 3: ("completed", 1)}.get(day.weekday(), ("", 0))
    if not kind:
        return
    query = select(Obligation).where(Obligation.resolved_on.is_(None), Obligation.stage == stage)
    row = session.scalars(query.order_by(Obligation.key).limit(1)).first()
    if row is not None:
        record_event(row, kind, day, "someone@example.org", f"{kind} in the test")


def ledger(app: App) -> list[tuple[str, date, dict[str, Any]]]:
    with app.sessions() as session:
        rows = session.execute(select(Delivery.recipient, Delivery.period, Delivery.payload)
                               .order_by(Delivery.period, Delivery.recipient))  # fmt: skip
        return [(r, p, payload) for r, p, payload in rows]


def live(app: App, reads: Reads) -> None:
    cal = app.rules().calendar()
    day = START
    while day <= END:
        if day == HANDOVER:
            hand_over(app)
        if cal.is_working_day(day):
            reads.today = day
            with transaction(app.sessions) as session:
                act(session, day)
            with transaction(app.sessions) as session:
                plan(session, app.rules(), app.timezone, day, "NSCP")
        day += timedelta(days=1)


def test_planning_reads_what_changed_and_plans_what_reading_everyone_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found, reads = {}, {}
    for way in ("changed", "everyone"):
        reads[way] = Reads()
        monkeypatch.setattr(planning, "stream", reads[way].spy(stream))
        if way == "everyone":
            monkeypatch.setattr(Listeners, "find", classmethod(
                lambda cls, session, assessor, previous: cls(None, [], "")))  # fmt: skip
        app = configured(tmp_path, monkeypatch, way)
        try:
            live(app, reads[way])
            found[way] = ledger(app)
        finally:
            app.close()
        monkeypatch.undo()
    assert found["changed"] == found["everyone"]
    assert len(found["changed"]) > 100
    assert any(r == SUCCESSOR and p == HANDOVER for r, p, _ in found["changed"])
    changed, everyone = reads["changed"].per_day, reads["everyone"].per_day
    mid_week = [d for d in changed if d.weekday() in (1, 2, 3)]
    assert sum(changed.values()) < sum(everyone.values())
    assert sum(changed[d] < everyone[d] for d in mid_week) >= len(mid_week) // 2


def test_obligations_are_synced_only_when_what_the_sync_reads_moved(
    app: App, tmp_path: Path
) -> None:
    run_import(app, seed("002"))
    day, rules = date(2017, 2, 1), app.rules()

    def synced() -> bool:
        with transaction(app.sessions) as session:
            return keep_in_step(session, rules, app.timezone, day)

    assert synced()
    assert not synced()  # nothing moved
    with transaction(app.sessions) as session:
        row = session.scalars(select(Obligation).order_by(Obligation.key)).first()
        assert row is not None
        record_event(row, "completed", day, "someone@example.org", "done")
    assert synced()  # an event: the documents may now disagree with it
    assert not synced()
    run_import(app, seed("003"))
    assert synced()  # a new document
    assert not synced()
    revised = tmp_path / "cap.txt"
    text = seed("002").read_text(encoding="utf-8")
    revised.write_text(text.replace("Education\t01/02/17", "Education\t01/09/17"))
    run_import(app, revised)
    assert synced()  # a target date changed in a re-imported document
    with app.sessions() as session:
        moved = session.scalar(select(Obligation.target_date).where(Obligation.target_date
                                                                    == date(2017, 9, 1)))  # fmt: skip
        assert moved == date(2017, 9, 1)
    rules = rules.model_copy(update={"ongoing_review_weeks": rules.ongoing_review_weeks + 1})
    assert synced()  # the rules it reads
    with app.sessions() as session:
        assert len(session.scalars(select(DocumentSync)).all()) == 5
