"""Run the worker and the web server side by side, and stop them together.

`reminders start` is the one command for running everything on one machine. It starts the
Celery worker (with its beat) and the web server as child processes, each in its own
session, so that a Ctrl-C in the terminal reaches this supervisor alone: it then asks each
child to stop exactly once (SIGTERM: Celery's warm shutdown, uvicorn's graceful one; a
second signal would make Celery abandon its tasks), waits, and exits. If a child ends by
itself, the other is stopped too and its exit status is passed on. Production runs the two
as separate services instead (docker-compose.yml), under the container runtime.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Sequence
from types import FrameType

GRACE_SECONDS = 20.0


def run_together(commands: Sequence[list[str]], grace: float = GRACE_SECONDS) -> int:
    """Run `commands` until one ends or we are told to stop; the exit status to use."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    children: list[subprocess.Popen[bytes]] = []
    try:
        children = [subprocess.Popen(c, start_new_session=True) for c in commands]
        while not stopping.is_set() and all(c.poll() is None for c in children):
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
