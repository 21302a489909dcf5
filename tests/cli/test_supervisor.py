"""`reminders start` runs the worker and the web server together and stops them together."""

from __future__ import annotations

import sys
import time

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
