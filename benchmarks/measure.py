"""What every benchmark reports: a figure, its floor measured in the same run, and the ratio."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One measured figure. `higher_is_better` for rates (requests/s), else times."""

    bench: str
    what: str
    value: float
    floor: float
    unit: str
    target: str
    higher_is_better: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """How far from the floor: value ÷ floor for times, floor ÷ value for rates."""
        top, bottom = (
            (self.floor, self.value) if self.higher_is_better else (self.value, self.floor)
        )
        return top / bottom if bottom else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def peak_rss_mb() -> float:
    """The peak resident set of this process so far, in MiB.

    VmHWM from /proc, which starts afresh at exec; ru_maxrss (the fallback) would carry over
    the resident set of the parent that forked us.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def counting_queries(engine: Engine) -> Iterator[dict[str, int]]:
    """Count the statements sent through `engine` inside the block: reads and writes."""
    count = {"reads": 0, "writes": 0}

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        count["reads" if statement.lstrip().upper().startswith("SELECT") else "writes"] += 1

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def in_child(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m module args` in a fresh interpreter (its own peak RSS); its JSON line."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found
