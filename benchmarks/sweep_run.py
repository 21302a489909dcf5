"""One B1 or B5 measurement in a fresh process: `python -m benchmarks.sweep_run MODE DAY`.

The database is REMINDERS_DATABASE_URL. Every mode rolls back, so that every run does the
same work. Prints one JSON line.

* `sweep`: the daily run (`record`, streamed) on DAY, an ordinary working day;
* `quiet`: the daily run on the day after DAY (a Saturday), once DAY's has been recorded:
  nothing can change, only the run itself is timed;
* `full`: the daily run on DAY after the rules changed, so every live item is assessed;
* `plan`: planning DAY's send period (B5): the daily run, who is due, every digest built;
* `floor`: the same obligation rows read with a plain SELECT through the same driver.

Each is timed twice in its process and the second reported (see `measure`).
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from benchmarks.measure import counting_queries, peak_rss_mb, timed
from worker.app import App
from worker.delivery.planning import plan
from worker.models import DailyRun
from worker.obligations import record, record_each
from worker.settings import load_settings

PLAIN = "SELECT * FROM obligations WHERE resolved_on IS NULL ORDER BY id"


def changes(app: App, session: Session, day: date) -> int:
    return sum(1 for _ in record_each(session, app.rules(), day))


def prepare(app: App, session: Session, mode: str, today: date) -> date:
    """Bring the session to the state the mode measures from; the day to run."""
    if mode == "quiet":
        record(session, app.rules(), today)
        return today + timedelta(days=1)
    if mode == "full":
        session.execute(update(DailyRun).values(rules="rules re-applied"))
    return today


def planned(app: App, session: Session, day: date) -> int:
    return len(plan(session, app.rules(), app.timezone, day, app.partnership_label()))


def floor(app: App) -> int:
    count = 0
    with app.engine.connect() as connection:
        for _ in connection.execution_options(yield_per=1000).execute(text(PLAIN)):
            count += 1
    return count


def measure(app: App, mode: str, today: date) -> dict[str, float]:
    """The mode timed twice in this process, both rolled back: the first run is the cold one
    (the ORM's mappers configured, statements compiled, the rules read), the second the one a
    worker that has run before does, and the one reported (the first in `cold_seconds`)."""
    cold = once(app, mode, today)
    return once(app, mode, today) | {"cold_seconds": cold["seconds"]}


def once(app: App, mode: str, today: date) -> dict[str, float]:
    """Time the mode (the floor, or one daily run after its preparation), rolled back."""
    result: dict[str, float] = {}
    if mode == "floor":
        with counting_queries(app.engine) as queries:
            seconds = timed(lambda: result.update(rows=floor(app)))
        return result | {"seconds": seconds, **queries}
    if mode == "plan":
        with app.sessions() as session, counting_queries(app.engine) as queries:
            seconds = timed(lambda: result.update(digests=planned(app, session, today)))
            session.rollback()
        return result | {"seconds": seconds, **queries}
    with app.sessions() as session:
        day = prepare(app, session, mode, today)
        with counting_queries(app.engine) as queries:
            seconds = timed(lambda: result.update(changes=changes(app, session, day)))
        result["assessed"] = (
            session.scalar(select(DailyRun.assessed).where(DailyRun.day == day)) or 0
        )
        session.rollback()
    return result | {"seconds": seconds, **queries}


def main(mode: str, today: date) -> None:
    app = App(load_settings())
    app.engine.connect().close()  # connect before counting and timing
    result = measure(app, mode, today)
    print(json.dumps(result | {"peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main(sys.argv[1], date.fromisoformat(sys.argv[2]))
