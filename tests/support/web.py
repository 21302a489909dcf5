"""Running the web app for tests: real uvicorn over a real socket, in a thread or a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from tests.support.services import ROOT, free_port, wait_for
from worker.app import App
from worker.web import create_app

# A sheet of our own, in the format of the partnership's MI sheets, with sessions on both
# sides of both clock changes of 2026 (BST from 29 March, GMT again from 25 October).
BST_SHEET = """Management Information Sheet

Briefings for Designated Safeguarding Leads

MI Sheet TypeCPD
To Be Completed By: 02/12/2026
MI Number:12/26
Publication Date:01/03/2026 09:30:00
LA Contact:Sam Jones (01632 960111)
Audience:All Staff

Please contact Sam Jones at sam.jones@example.org with any questions.

DateTimeVenueReference
Friday 27 March 202610:00 to 11:30 amCounty Hall, NorwichTLS-0326-T001
Monday 30 March 202610:00 to 11:30 amCounty Hall, NorwichTLS-0326-T002
Friday 23 October 202614:00 to 15:30Kings Lynn Town HallTLS-1026-T003
Monday 26 October 202614:00 to 15:30Kings Lynn Town HallTLS-1026-T004

To book a place on one of these sessions, please go to www.training.example.org. Places are free of charge but will be limited to two delegate places per school/establishment.
"""


def bst_sheet(folder: Path, text: str = BST_SHEET, name: str = "mi-12-26.txt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def serving(app: App, port: int | None = None) -> Iterator[httpx.Client]:
    """The app under uvicorn in this process (on `port`, or a free one); a client with the
    server's base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_config=None, access_log=False,
        lifespan="off", ws="none",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 15, "uvicorn to start")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def serve_process(env: dict[str, str], log: Path) -> Iterator[httpx.Client]:
    """`reminders serve` as an operator runs it, its output (the access log) in `log`."""
    with server_process(env, log) as (client, _):
        yield client


@contextmanager
def server_process(
    env: dict[str, str], log: Path
) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """`serve_process`, with the server's process (to read its memory, say)."""
    port = free_port()
    command = [sys.executable, "-m", "worker.cli", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for(lambda: answers(port), 30, "reminders serve to answer")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                yield client, process
        finally:
            process.terminate()
            process.wait(timeout=30)


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
