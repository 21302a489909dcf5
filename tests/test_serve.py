"""`reminders serve --workers N`: the socket it hands uvicorn's processes."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from tests.services import free_port
from worker.cli.web import listening_socket


def nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY on the server side of a connection asyncio accepts on `listener`."""

    async def accept_one() -> int:
        found: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                found.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        result = await asyncio.wait_for(found, 10)
        writer.close()
        server.close()
        return result

    # In a thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, accept_one()).result()


def config() -> uvicorn.Config:
    return uvicorn.Config("worker.web:from_settings", host="127.0.0.1", port=free_port())


def test_uvicorn_own_socket_leaves_nagle_on() -> None:
    # What the fix is for: without it, each keep-alive request waits for a delayed ACK.
    assert nodelay_of_accepted(config().bind_socket()) == 0


def test_connections_on_the_served_socket_send_at_once() -> None:
    listener = listening_socket(config())
    assert listener.proto == socket.IPPROTO_TCP
    assert nodelay_of_accepted(listener) != 0
