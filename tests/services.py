"""Real services for the tests: a throwaway PostgreSQL cluster started from the binaries."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
