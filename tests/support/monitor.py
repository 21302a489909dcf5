"""An outside monitor on loopback, as healthchecks.io takes pings: any GET, HEAD or POST to
its check's address (`/start`, the address itself, `/fail`) answers 200 "OK"; each is kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.services import free_port

CHECK = "/ping/5f7c0a52-1e3b-4c71-9d0e-2a8b6c4d1f90"  # a check's address, as the monitor gives


@dataclass
class Monitor:
    url: str
    pings: list[str] = field(default_factory=list)  # what followed the check's address

    def after(self) -> list[str]:
        """The pings, each by what it says: "start", "success" or "fail"."""
        return [p.removeprefix("/") or "success" for p in self.pings]


@contextmanager
def monitor() -> Iterator[Monitor]:
    port = free_port()
    found = Monitor(f"http://127.0.0.1:{port}{CHECK}")

    class Ping(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(min(length, 100_000))
            if self.path.startswith(CHECK):
                found.pings.append(self.path.removeprefix(CHECK))
                self.send_response(200)
            else:
                self.send_response(404)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        do_GET = do_POST = do_HEAD = answer  # noqa: N815 (http.server's names)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Ping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
