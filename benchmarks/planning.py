"""B5: planning one send period, on SQLite and PostgreSQL.

Each of N schools owes ten MI sheets three days overdue (N x 10 obligations), in the steady
state after yesterday's daily run and sync. Nothing has been planned this week, so everyone
with an item is due a digest: the heaviest period there is. Planning runs the daily run,
decides who is due, builds every digest and writes the ledger, in a fresh process, rolled
back. Floor: a plain SELECT of the same obligation rows through the same driver.
"""

from __future__ import annotations

from benchmarks.databases import Databases, app_for, settle
from benchmarks.digests import schools
from benchmarks.measure import Figure, in_child
from benchmarks.scales import TODAY, Scale
from benchmarks.sweep import BACKENDS

ITEMS = 10
TARGET = "≤ 30 s for 10,000 digests at 100,000 obligations"


def run(scale: Scale, databases: Databases) -> list[Figure]:
    figures = []
    for backend in BACKENDS:
        url = databases.fresh(backend, "b5")
        app = app_for(url)
        schools(app, scale.planned, ITEMS)
        settle(app)
        app.close()
        env = {"REMINDERS_DATABASE_URL": url}
        floor = in_child("benchmarks.sweep_run", "floor", TODAY.isoformat(), env=env)
        planned = in_child("benchmarks.sweep_run", "plan", TODAY.isoformat(), env=env)
        extra = {"obligations": scale.planned * ITEMS, "digests": planned["digests"],
                 "peak_rss_mb": round(planned["peak_rss_mb"], 1), "reads": planned["reads"],
                 "writes": planned["writes"]}  # fmt: skip
        size = f"{planned['digests']:,} digests at {scale.planned * ITEMS:,} obligations"
        what = f"plan one period: {size}, {backend}"
        figures.append(Figure("B5", what, planned["seconds"], floor["seconds"], "s", TARGET,
                              extra=extra))  # fmt: skip
    return figures
