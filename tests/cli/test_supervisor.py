"""`reminders start` runs the worker and the web server together and stops them together."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from worker.cli.supervisor import run_together

PYTHON = sys.executable


def test_when_one_child_fails_the_other_is_stopped_and_the_status_passed_on() -> None:
    started = time.monotonic()
    status = run_together(
        [[PYTHON, "-c", "import time; time.sleep(60)"], [PYTHON, "-c", "raise SystemExit(3)"]],
        grace=5,
    )
    assert status == 3
    assert time.monotonic() - started < 20  # the sleeper was stopped, not waited for


def test_a_child_that_ignores_the_stop_request_is_killed() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    started = time.monotonic()
    status = run_together([[PYTHON, "-c", stubborn], [PYTHON, "-c", "pass"]], grace=1)
    assert status == 0
    assert time.monotonic() - started < 20


def test_a_child_that_ends_after_running_a_while_is_started_again(tmp_path: Path) -> None:
    """The worker that lost its broker: it ended after it had settled, so it is started
    again while the other keeps running, until we are told to stop."""
    starts = tmp_path / "starts"
    dies = f"import time; open({str(starts)!r}, 'a').write('x'); time.sleep(0.7); exit(1)"
    stop = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGTERM))
    stop.start()
    try:
        status = run_together([[PYTHON, "-c", dies], [PYTHON, "-c", "import time; time.sleep(60)"]],
                              grace=5, settled=0.5)  # fmt: skip
    finally:
        stop.cancel()
    assert status == 0  # stopped when told to, not by the child that ended
    assert len(starts.read_text()) >= 2  # started again after it ended
