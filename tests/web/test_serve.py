"""`reminders serve`: every connection it accepts sends at once (TCP_NODELAY), whichever way
the uvicorn release installed binds its sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.services import free_port, wait_for
from worker.cli.web import server_config, server_of
from worker.settings import load_settings


def accepted_by_us(client: socket.socket) -> socket.socket | None:
    """The server's end of `client`'s connection, found among this process's descriptors."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(fd))
        except OSError:  # closed meanwhile
            continue
        try:
            found = socket.socket(fileno=copy)
        except OSError:  # not a socket: close the copy, or a pipe's far end never sees EOF
            os.close(copy)
            continue
        try:
            if found.type == socket.SOCK_STREAM and found.getpeername() == client.getsockname():
                return found
        except OSError:
            pass
        found.close()
    return None


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> Iterator[int]:
    """The server `reminders serve` runs, in a thread of this process; yields its port."""
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp / 'reminders.db'}")
    port = free_port()
    config = server_config("worker.web:from_settings", "127.0.0.1", port, 1,
                           load_settings())  # fmt: skip
    server, sockets = server_of(config)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets),), daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "the server to start")
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def server_end(client: socket.socket) -> socket.socket:
    found: list[socket.socket] = []

    def look() -> bool:
        end = accepted_by_us(client)
        if end is not None:
            found.append(end)
        return bool(found)

    wait_for(look, 10, "the server to accept the connection")
    return found[0]


def test_every_connection_served_sends_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Without TCP_NODELAY each keep-alive request after the first waits for a delayed ACK.
    # `--workers N` hands the same sockets to each of its processes.
    with (
        serving(monkeypatch, tmp_path) as port,
        socket.create_connection(("127.0.0.1", port)) as client,
        server_end(client) as ours,
    ):
        assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
