"""The benchmarks cannot rot: a small-scale run end to end reports every figure with its floor.

Timings are not asserted (the machines are shared and noisy); what is measured is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.support.services import ROOT
from worker.importers.web_page import html_lines


def test_small_scale_run_reports_every_figure_with_its_floor(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks", "--scale", "small", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    figures = report["figures"]
    assert {f["bench"] for f in figures} == {"B1", "B2", "B3", "B4", "B5", "B6"}
    for figure in figures:
        assert figure["floor"] > 0, figure
        assert figure["value"] >= 0, figure
        assert figure["ratio"] > 0, figure
        assert figure["target"], figure
        assert figure["bench"] in done.stdout
    assert report["machine"]["nproc"] >= 1
    sweeps = [f for f in figures if f["bench"] == "B1"]
    assert {f["what"].rsplit(", ", 1)[1] for f in sweeps} == {"sqlite", "postgresql"}
    assert len(sweeps) == 6  # three days on each backend
    for found in sweeps:
        extra = found["extra"]
        if "an ordinary day" in found["what"]:
            reads_small = next(v for k, v in extra.items() if k.startswith("reads_at_"))
            assert extra["reads"] == reads_small  # read queries do not grow with N
            assert 0 < extra["assessed"] < extra["obligations"]
        elif "nothing can change" in found["what"]:
            assert extra["assessed"] == 0
            assert extra["stage_changes"] == 0
        else:
            assert extra["assessed"] >= extra["obligations"] * 0.9  # every live item
    digests = [f for f in figures if f["bench"] == "B2"]
    assert len(digests) == 3  # the two concurrencies, then the first again DKIM-signed
    assert [f["what"].endswith("DKIM-signed") for f in digests] == [False, False, True]
    assert all(f["extra"]["digests"] > 0 for f in digests)
    feeds = [f for f in figures if f["bench"] == "B3"]
    assert all(f["extra"]["app_304"] == 304 for f in feeds)
    plans = [f for f in figures if f["bench"] == "B5"]
    assert [f["extra"]["digests"] for f in plans] == [200, 200]  # every school is due one
    imports = [f for f in figures if f["bench"] == "B4"]
    assert all(f["extra"]["refused"] == 0 for f in imports)
    pages = [f for f in figures if f["bench"] == "B6"]
    assert len(pages) == 4  # the overview and the items page, on each backend
    assert all(f["extra"]["stage_changes"] > 0 and f["extra"]["bytes"] > 1000 for f in pages)


def best_of(runs: int, page: str) -> float:
    """The shortest of `runs` readings of `page`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        html_lines(page)
        times.append(time.perf_counter() - started)
    return min(times)


def test_a_web_page_is_read_in_time_linear_in_its_nesting() -> None:
    """Tags opened and never closed: eight times as many take about eight times as long
    (BeautifulSoup took about 64 times as long, and a 0.5 MB page held a server thread for
    minutes). A ratio of two sizes read side by side, the smaller the floor."""
    small, large = (best_of(3, "<html><body>" + "<div><p>x" * n) for n in (2_000, 16_000))
    assert large / small < 24, f"{large / small:.1f} times as long for 8 times the tags"
