"""One B1 measurement in a fresh process: `python -m benchmarks.sweep_run sweep|floor DAY`.

The database is REMINDERS_DATABASE_URL. `sweep` runs the daily sweep (`record`, streamed) and
rolls it back, so that every run does the same work; `floor` reads the same obligation rows
with a plain SELECT through the same driver. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import date

from sqlalchemy import text

from benchmarks.measure import counting_queries, peak_rss_mb, timed
from worker.app import App
from worker.obligations import record_each
from worker.settings import load_settings

PLAIN = "SELECT * FROM obligations WHERE resolved_on IS NULL ORDER BY id"


def sweep(app: App, today: date) -> int:
    rules, count = app.rules(), 0
    with app.sessions() as session:
        for _ in record_each(session, rules, today):
            count += 1
        session.rollback()
    return count


def floor(app: App) -> int:
    count = 0
    with app.engine.connect() as connection:
        for _ in connection.execution_options(yield_per=1000).execute(text(PLAIN)):
            count += 1
    return count


def main(mode: str, today: date) -> None:
    app = App(load_settings())
    app.engine.connect().close()  # connect before counting and timing
    result: dict[str, float] = {}
    with counting_queries(app.engine) as queries:
        if mode == "sweep":
            seconds = timed(lambda: result.update(changes=sweep(app, today)))
        else:
            seconds = timed(lambda: result.update(rows=floor(app)))
    result |= {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), **queries}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], date.fromisoformat(sys.argv[2]))
