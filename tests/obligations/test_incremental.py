"""The incremental daily run writes the same history as assessing everything every day.

Two databases receive the same obligations, events and documents, day by day. One runs the
daily run as the service does (only what is pending or due); the other is made to assess
every live item each day (its previous runs forgotten, so each run is a full pass). The
recorded history — every stage change, its day, its stages and its reason — must be equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT, seed
from tests.support.helpers import run_import
from worker.app import App
from worker.db import session_factory, transaction
from worker.models import Base, DailyRun, Obligation, StageChange
from worker.obligations import EventRefusedError, record, record_event, sync_obligations
from worker.rules.ladder import Rules, load_rules
from worker.settings import load_settings

RULES = load_rules(ROOT / "config" / "escalation.yaml")
START = date(2017, 1, 2)
DAYS = 70
History = list[tuple[str, date, int, int, str]]


@dataclass(frozen=True)
class Happening:
    """Something that happens on a day: an obligation appears, or an event is recorded."""

    day: int  # days after START
    item: int
    kind: str  # "appears" or an event kind
    shift: int = 0  # for "appears" and "retargeted": the target, days after START


happenings = st.lists(
    st.builds(
        Happening,
        day=st.integers(0, DAYS - 1),
        item=st.integers(0, 5),
        kind=st.sampled_from(
            ["appears", "appears", "acknowledged", "noted", "completed", "retargeted", "reopened"]
        ),
        shift=st.integers(-10, 60),
    ),
    max_size=25,
)


def database() -> sessionmaker[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return session_factory(engine, lambda: datetime(2017, 1, 1, tzinfo=UTC))


def apply(sessions: sessionmaker[Session], today: date, todays: list[Happening]) -> None:
    with transaction(sessions) as session:
        for happening in todays:
            key = f"item:{happening.item}"
            row = session.scalar(select(Obligation).where(Obligation.key == key))
            target = START + timedelta(days=happening.shift)
            if happening.kind == "appears":
                if row is None:
                    session.add(Obligation(key=key, kind="action", target_date=target, stage=-1))
                continue
            if row is None:
                continue
            note = "progress" if happening.kind in ("acknowledged", "noted") else ""
            new_target = target if happening.kind == "retargeted" else None
            with suppress(EventRefusedError):  # the same refusal in both databases
                record_event(row, happening.kind, today, "someone@example.org", note, new_target)


def run_day(sessions: sessionmaker[Session], today: date,
            full_pass: Callable[[Session], None] | None = None, rules: Rules = RULES) -> None:  # fmt: skip
    with transaction(sessions) as session:
        if full_pass is not None:
            full_pass(session)
        record(session, rules, today)


def history(sessions: sessionmaker[Session]) -> History:
    with sessions() as session:
        rows = session.execute(
            select(Obligation.key, StageChange.on, StageChange.from_stage, StageChange.to_stage,
                   StageChange.reason).join(StageChange.obligation)
            .order_by(StageChange.on, Obligation.key, StageChange.id)
        )  # fmt: skip
        return [tuple(r) for r in rows]  # type: ignore[misc]


def days() -> Iterator[tuple[date, bool]]:
    """Every day, and whether the daily run runs on it (working days only)."""
    cal = RULES.calendar()
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        yield day, cal.is_working_day(day)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(happenings)
def test_the_incremental_run_writes_the_history_a_full_run_would(
    happened: list[Happening],
) -> None:
    assert_same_history(happened, forget)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(happenings)
def test_the_history_is_the_same_when_the_rules_change_every_day(
    happened: list[Happening],
) -> None:
    """A full pass after a change of rules leaves the rows it need not touch as they were."""
    assert_same_history(happened, change_the_rules)


# From halfway, the rules close the offices for a week: every live item's timing moves.
SWITCH = START + timedelta(days=DAYS // 2)
CLOSED = RULES.model_copy(
    update={"closure_days": [SWITCH + timedelta(days=n) for n in range(3, 10)]}
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(happenings)
@example([Happening(0, 0, "appears", -10), Happening(DAYS // 2, 0, "noted")])  # at the top, noted
def test_a_full_pass_after_new_rules_leaves_each_row_as_writing_it_would(
    happened: list[Happening],
) -> None:
    """The rows a full pass leaves unwritten end as they would had it written them all: the
    same stages, next changes, ladders and resolutions, and the same stage changes (reasons
    aside: with no run before it, the pass that writes all gives reasons from further back)."""
    skipping, writing = database(), database()
    for day, working in days():
        todays = [h for h in happened if START + timedelta(days=h.day) == day]
        rules = RULES if day < SWITCH else CLOSED
        for sessions in (skipping, writing):
            apply(sessions, day, todays)
        if working:
            run_day(skipping, day, rules=rules)
            run_day(writing, day, forget if day == SWITCH else None, rules)
            assert state(skipping) == state(writing)
    assert moves(skipping) == moves(writing)


def state(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with sessions() as session:
        columns = (Obligation.key, Obligation.stage, Obligation.next_change, Obligation.ladder,
                   Obligation.resolved_on, Obligation.problem, Obligation.pending)  # fmt: skip
        return [tuple(r) for r in session.execute(select(*columns).order_by(Obligation.key))]


def moves(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    return [entry[:4] for entry in history(sessions)]


def assert_same_history(happened: list[Happening], full_pass: Callable[[Session], None]) -> None:
    incremental, full = database(), database()
    for day, working in days():
        todays = [h for h in happened if START + timedelta(days=h.day) == day]
        for sessions in (incremental, full):
            apply(sessions, day, todays)
        if working:
            run_day(incremental, day)
            run_day(full, day, full_pass)
    assert history(incremental) == history(full)


def forget(session: Session) -> None:
    """Every earlier run forgotten: each run is a full pass with no run before it."""
    session.execute(delete(DailyRun))


def change_the_rules(session: Session) -> None:
    """The previous runs kept, under other rules: each run is a full pass after a run."""
    session.execute(update(DailyRun).values(rules="other rules"))


def replay(app: App, days: list[date], full: bool) -> History:
    for day in days:
        with transaction(app.sessions) as session:
            sync_obligations(session, app.rules(), app.timezone, day)
            session.flush()
            if full:
                session.execute(delete(DailyRun))
            record(session, app.rules(), day)
    return history(app.sessions)


def test_the_seeds_replayed_from_2016_to_2019(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of running, over the seed documents' whole life, against one another."""
    cal = RULES.calendar()
    days = [d for d in (date(2016, 1, 4) + timedelta(n) for n in range(1460))
            if cal.is_working_day(d)]  # fmt: skip
    got = {}
    for way in (False, True):
        monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / f'{way}.db'}")
        app = App(load_settings())
        try:
            app.initialise()
            run_import(app, seed("000"), seed("002"), seed("003"))
            got[way] = replay(app, days, way)
        finally:
            app.close()
    assert got[False] == got[True]
    assert len(got[False]) > 50
