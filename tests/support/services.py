"""Real services for the tests: PostgreSQL, Redis, an SMTP server, Celery worker and beat."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import werkzeug.serving

ROOT = Path(__file__).resolve().parents[2]


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


class PostgresCluster:
    """A throwaway cluster in a temporary folder, that a test may stop and start again."""

    def __init__(self) -> None:
        if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
        self.root = Path(tempfile.mkdtemp(prefix="reminders-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sock"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self.port = free_port()
        initdb = ["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]
        subprocess.run(as_postgres_user([*initdb, "-E", "UTF8"]), check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/postgres?host={self.sockets}&port={self.port}"

    def pg_ctl(self, *args: str) -> None:
        command = ["pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", *args]
        subprocess.run(as_postgres_user(command), check=True, capture_output=True)

    def start(self) -> None:
        self.pg_ctl("-o", f"-p {self.port} -k {self.sockets} -c listen_addresses='' -c fsync=off",
                    "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self.pg_ctl("-m", mode, "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster in a temporary folder; yield a URL for its `postgres` database."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll until `check()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """A real redis-server (on `port`, or a free one), without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/test installs it)")
    port = port or free_port()
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

    def __init__(self, keep: bool = True) -> None:
        # Benchmarks send tens of thousands of messages: they count them and keep none.
        self.keep, self.accepted = keep, 0
        self.messages: list[tuple[list[str], bytes]] = []
        self.senders: list[str] = []  # each kept message's envelope sender (MAIL FROM)
        self.replies: dict[str, list[str]] = {}
        self.refusals: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.delay = 0.0  # seconds to think before answering DATA, like a busy relay
        self.busy = 0  # DATA commands being answered now
        self.pausing: dict[int, float] = {}  # when each of them began
        self.after_accept: Callable[[list[str]], None] | None = None

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
        self.busy += 1
        self.pausing[id(envelope)] = time.monotonic()
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.busy -= 1
            del self.pausing[id(envelope)]
        transport = getattr(server, "transport", None)
        if transport is None or transport.is_closing():
            # The client vanished before our reply: like a real relay, keep nothing.
            return "451 4.4.0 connection lost"
        recipients = [a.lower() for a in envelope.rcpt_tos]
        with self.lock:
            self.accepted += 1
            if self.keep:
                self.messages.append((recipients, envelope.original_content))
                self.senders.append(envelope.mail_from)
        if self.after_accept is not None:
            self.after_accept(recipients)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[bytes]:
        with self.lock:
            return [content for rcpts, content in self.messages if address.lower() in rcpts]

    def count(self) -> int:
        with self.lock:
            return self.accepted

    def addresses(self) -> list[str]:
        """The recipients of the messages kept, once for each message."""
        with self.lock:
            return [address for recipients, _ in self.messages for address in recipients]

    def pausing_for(self, seconds: float) -> bool:
        """Whether every DATA being answered will still pause at least `seconds`: a client
        killed now is killed before the relay accepts any of them."""
        now, began = time.monotonic(), list(self.pausing.values())
        return all(now - start < self.delay - seconds for start in began)

    def pausing_since(self, moment: float) -> bool:
        """Whether DATA is being answered, every one of them begun after `moment` (monotonic)."""
        began = list(self.pausing.values())
        return bool(began) and all(start > moment for start in began)

    def all(self) -> list[bytes]:
        with self.lock:
            return [content for _, content in self.messages]


class SmtpServer:
    """A real SMTP server (aiosmtpd) in this process, that can be stopped and started again
    on the same port (to refuse connections for a while)."""

    def __init__(self, recorder: Recorder, port: int, **options: Any) -> None:
        self.recorder, self.port, self.options = recorder, port, options
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(keep: bool = True, **options: Any) -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server (aiosmtpd) on a free port in this process."""
    server = SmtpServer(Recorder(keep), free_port(), **options)
    server.start()
    try:
        yield server.recorder, server.port
    finally:
        server.stop()


@contextmanager
def celery_process(
    kind: str, env: dict[str, str], workdir: Path, name: str, concurrency: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (its pool of sending threads, `concurrency` of them or as many as
    the settings say) or beat, started as its own process."""
    command = [sys.executable, "-m", "celery", "-A", "worker.celery_app", kind,
               "--loglevel", "INFO"]  # fmt: skip
    if concurrency is not None:  # the setting, so that the database pool matches it too
        env = {**env, "REMINDERS_SEND_CONCURRENCY": str(concurrency)}
    if kind == "worker":
        command += ["--hostname", f"{name}@%h", "--without-mingle", "--without-gossip"]
    else:
        command += ["--schedule", str(workdir / f"{name}-schedule")]
    log = (workdir / f"{name}.log").open("ab")  # a restarted process adds to its log
    # Its own process group, so that kill_hard reaches every process it started.
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_hard(process)
        log.close()


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """kill -9 the process and every process of its group."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


class NuChecker:
    """The Nu HTML Checker (the W3C validator, npm's vnu-jar) as a local web service."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/?out=json"

    def check(self, html: bytes) -> tuple[list[str], list[str]]:
        """The checker's errors and warnings for one HTML document, each with its line."""
        reply = httpx.post(self.url, content=html, timeout=60,
                           headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip
        reply.raise_for_status()
        found: dict[str, list[str]] = {"error": [], "info": []}
        for m in reply.json()["messages"]:
            kind = "error" if m["type"] != "info" else "info"
            found[kind].append(f"line {m.get('lastLine', '?')}: {m['message']}")
        return found["error"], found["info"]


@contextmanager
def nu_checker() -> Iterator[NuChecker]:
    """The checker's own HTTP service on a free port (Java 17; scripts/test runs npm ci)."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        raise RuntimeError(f"the Nu HTML Checker needs java and {VNU_JAR} (scripts/test)")
    port = free_port()
    command = [java, "-cp", str(VNU_JAR), "-Dnu.validator.servlet.bind-address=127.0.0.1",
               "nu.validator.servlet.Main", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: port_open(port), 60, "the Nu HTML Checker to listen")
        yield NuChecker(port)
    finally:
        process.kill()
        process.wait()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def wsgi_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """`app` (WSGI) served by werkzeug on `host`, a thread a request: its base URL."""
    server = werkzeug.serving.make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
