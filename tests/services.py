"""Real services for the tests: PostgreSQL, Redis, an SMTP server, Celery worker and beat."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; on a root machine run it as `postgres`."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster in a temporary folder; yield a URL for its `postgres` database."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    root = Path(tempfile.mkdtemp(prefix="reminders-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    run = as_postgres_user
    subprocess.run(
        run(
            ["initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses='' -c fsync=off"
    start = ["pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(run(start), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sockets}&port={port}"
    finally:
        stop = ["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(run(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll until `check()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")


@contextmanager
def redis_server() -> Iterator[str]:
    """A real redis-server on a free port, without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/test installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: redis_ping(port), 10, "redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Recorder:
    """An aiosmtpd handler that keeps every message and can refuse chosen recipients.

    `replies[address]` is a list of SMTP replies given to that address's RCPT, one per
    attempt (e.g. ["451 4.3.0 try later"]); once used up, the address is accepted.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.replies: dict[str, list[str]] = {}
        self.refusals: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            queue = self.replies.get(address.lower(), [])
            if queue:
                reply = queue.pop(0)
                self.refusals.append((address.lower(), reply))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(
                ([a.lower() for a in envelope.rcpt_tos], envelope.original_content)
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[bytes]:
        with self.lock:
            return [content for rcpts, content in self.messages if address.lower() in rcpts]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@contextmanager
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server (aiosmtpd) on a free port in this process."""
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


@contextmanager
def celery_process(
    kind: str, env: dict[str, str], workdir: Path, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (prefork pool) or beat, started as its own process."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        kind,
        "--loglevel",
        "INFO",
    ]
    if kind == "worker":
        command += [
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--hostname",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
    else:
        command += ["--schedule", str(workdir / f"{name}-schedule")]
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
