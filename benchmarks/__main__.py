"""`python -m benchmarks --scale {small,100k,1m}`: run B1-B6, print the table, write JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import console, digests, feeds, imports, planning, sweep
from benchmarks.databases import Databases
from benchmarks.measure import Figure
from benchmarks.scales import SCALES
from tests.support.services import postgres_cluster

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("B1", "B2", "B3", "B4", "B5", "B6")


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


def run(scale_name: str, only: list[str], folder: Path) -> tuple[list[Figure], dict[str, float]]:
    """The figures of the parts in `only`, and the seconds each part took."""
    scale, figures, seconds = SCALES[scale_name], [], {}
    with postgres_cluster() as postgres:
        databases = Databases(folder, postgres)
        parts: dict[str, Callable[[], list[Figure]]] = {
            "B1": lambda: sweep.run(scale, databases),
            "B2": lambda: digests.run(scale, databases, folder / "b2"),
            "B3": lambda: feeds.run(scale, databases),
            "B4": lambda: imports.run(scale, databases, folder / "b4"),
            "B5": lambda: planning.run(scale, databases),
            "B6": lambda: console.run(scale, databases),
        }
        for name in (p for p in PARTS if p in only):
            start = time.perf_counter()
            figures += parts[name]()
            seconds[name] = round(time.perf_counter() - start, 1)
    return figures, seconds


def table(figures: list[Figure]) -> str:
    lines = [
        "| | what | measured | floor | ratio | target | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        notes = ", ".join(f"{k} {v}" for k, v in f.extra.items())
        lines.append(f"| {f.bench} | {f.what} | {f.value:,.2f} {f.unit} | {f.floor:,.2f} {f.unit} "
                     f"| {f.ratio:,.2f}x | {f.target} | {notes} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--only", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "benchmarks")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    figures, parts = run(args.scale, args.only, args.out)
    elapsed = time.perf_counter() - start
    report = {"scale": args.scale, "finished": datetime.now(UTC).isoformat(),
              "seconds": round(elapsed, 1), "seconds_per_part": parts, "machine": machine(),
              "figures": [f.to_json() for f in figures]}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(table(figures))
    print(f"\nscale {args.scale}, {elapsed:.0f} s on {report['machine']}; per part: {parts}")
    print(f"written to {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
