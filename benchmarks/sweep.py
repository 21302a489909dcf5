"""B1: the daily run over N open obligations, on SQLite and PostgreSQL.

Floor: a plain SELECT of the same obligation rows through the same driver. Each run is a fresh
process, so its peak RSS is its own. Three days are measured: an ordinary working day, a day
when nothing can change (the Saturday after Friday's run) and a full pass (the rules changed).
The ordinary day also runs at N/10: its query count must match.
"""

from __future__ import annotations

from typing import Any

from benchmarks.databases import Databases, app_for, settle
from benchmarks.generate import partnership
from benchmarks.measure import Figure, in_child
from benchmarks.scales import TODAY, Scale

BACKENDS = ("sqlite", "postgresql")
DAYS = {
    "sweep": ("an ordinary day", "≤ 1x; RSS ≤ 300 MB; queries independent of N"),
    "quiet": ("a day when nothing can change", "≤ 0.05x"),
    "full": ("a full pass (rules changed)", "≤ 10x; RSS ≤ 300 MB"),
}


def measure(url: str, mode: str) -> dict[str, Any]:
    env = {"REMINDERS_DATABASE_URL": url}
    return in_child("benchmarks.sweep_run", mode, TODAY.isoformat(), env=env)


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
        small = measure(loaded(databases, backend, scale.smaller), "sweep")
        url = loaded(databases, backend, scale.obligations)
        floor = measure(url, "floor")
        for mode, (day, target) in DAYS.items():
            found = measure(url, mode)
            extra = {
                "obligations": scale.obligations,
                "assessed": found["assessed"],
                "stage_changes": found["changes"],
                "peak_rss_mb": round(found["peak_rss_mb"], 1),
                "floor_peak_rss_mb": round(floor["peak_rss_mb"], 1),
                "cold_s": round(found["cold_seconds"], 3),
                "floor_cold_s": round(floor["cold_seconds"], 3),
                "reads": found["reads"],
                "writes": found["writes"],
            }
            if mode == "sweep":
                extra[f"reads_at_{scale.smaller}"] = small["reads"]
            what = f"daily run, {day}, {scale.obligations:,} obligations, {backend}"
            figures.append(Figure("B1", what, found["seconds"], floor["seconds"], "s", target,
                                  extra=extra))  # fmt: skip
    return figures
