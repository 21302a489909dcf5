"""B1: the daily escalation sweep over N open obligations, on SQLite and PostgreSQL.

Floor: a plain SELECT of the same obligation rows through the same driver. Each run is a fresh
process, so its peak RSS is its own. The sweep also runs at N/10: its query count must match.
"""

from __future__ import annotations

from benchmarks.databases import Databases, app_for, settle
from benchmarks.generate import partnership
from benchmarks.measure import Figure, in_child
from benchmarks.scales import TODAY, Scale

BACKENDS = ("sqlite", "postgresql")
TARGET = "≤ 1x on an ordinary day; RSS ≤ 300 MB; queries independent of N"


def measure(url: str) -> tuple[dict[str, float], dict[str, float]]:
    env = {"REMINDERS_DATABASE_URL": url}
    floor = in_child("benchmarks.sweep_run", "floor", TODAY.isoformat(), env=env)
    sweep = in_child("benchmarks.sweep_run", "sweep", TODAY.isoformat(), env=env)
    return sweep, floor


def loaded(databases: Databases, backend: str, size: int) -> str:
    url = databases.fresh(backend, f"b1_{size}")
    app = app_for(url)
    partnership(app, size)
    settle(app)
    app.close()
    return url


def run(scale: Scale, databases: Databases) -> list[Figure]:
    figures = []
    for backend in BACKENDS:
        small, _ = measure(loaded(databases, backend, scale.smaller))
        sweep, floor = measure(loaded(databases, backend, scale.obligations))
        extra = {
            "obligations": scale.obligations,
            "stage_changes": sweep["changes"],
            "peak_rss_mb": round(sweep["peak_rss_mb"], 1),
            "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
            "reads": sweep["reads"],
            f"reads_at_{scale.smaller}": small["reads"],
            "writes": sweep["writes"],
        }
        what = f"sweep {scale.obligations:,} obligations, {backend}"
        figures.append(
            Figure("B1", what, sweep["seconds"], floor["seconds"], "s", TARGET, extra=extra)
        )
    return figures
