"""Run the worker and the web server side by side, and stop them together.

`reminders start` is the one command for running everything on one machine. It starts the
Celery worker (with its beat) and the web server as child processes, each in its own
session, so that a Ctrl-C in the terminal reaches this supervisor alone: it then asks each
child to stop exactly once (SIGTERM: Celery's warm shutdown, uvicorn's graceful one; a
second signal would make Celery abandon its tasks), waits, and exits.

A child that ends by itself after it had been running a while (`SETTLED_SECONDS`: the
worker that lost its broker, a beat killed by the system) is started again, so that nothing
stops for good while the rest looks healthy. One that ends soon after it started (a port in
use, a setting refused) would only end again: the others are stopped too and its exit
status is passed on. Production runs each as a separate service instead
(docker-compose.yml), which the container runtime restarts.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from types import FrameType

GRACE_SECONDS = 20.0
SETTLED_SECONDS = 30.0  # a child that ran this long and ended is started again
log = logging.getLogger(__name__)


def run_together(commands: Sequence[list[str]], grace: float = GRACE_SECONDS,
                 settled: float = SETTLED_SECONDS) -> int:  # fmt: skip
    """Run `commands` until one ends soon after it started or we are told to stop, starting
    again any that ended after running `settled` seconds; the exit status to use."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[subprocess.Popen[bytes]] = []
    try:
        children = [subprocess.Popen(c, start_new_session=True) for c in commands]
        since = [time.monotonic()] * len(children)
        while not stopping.is_set():
            ended = [i for i, c in enumerate(children) if c.poll() is not None]
            if any(time.monotonic() - since[i] < settled for i in ended):
                break
            for i in ended:
                log.error("%s ended (status %s) after running a while: starting it again",
                          commands[i][:4], children[i].returncode)  # fmt: skip
                children[i] = subprocess.Popen(commands[i], start_new_session=True)
                since[i] = time.monotonic()
            stopping.wait(0.5)
    finally:
        ended = [c.returncode for c in children if c.poll() is not None]
        stop(children, grace)
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0 if stopping.is_set() else next((code for code in ended if code), 0)


def stop(children: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    running = [c for c in children if c.poll() is None]
    for child in running:
        child.terminate()
    for child in running:
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
