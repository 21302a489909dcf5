"""B3: the sessions feed, first built, then served to wrk; nginx serving the same bytes is the
floor. Both get the same number of server processes (2, one per core), wrk the same load.
The app starts with no kept feeds (a folder of its own), so its first request builds one.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.databases import Databases, app_for, settle
from benchmarks.generate import partnership
from benchmarks.measure import Figure
from benchmarks.scales import Scale
from tests.support.services import free_port, wait_for

PATH = "/feeds/sessions.ics"
PROCESSES = 2
# One connection per server process: the app then never has a backlog that would still be
# draining when the next run starts; nginx gets exactly the same load.
CONNECTIONS = PROCESSES
GET_TARGET = "≤ 2x (≥ 50% of nginx's requests/s)"
REVALIDATION_TARGET = "≤ 4x (≥ 25% of nginx's 304s), each answered 304"
NGINX = """daemon off; worker_processes {processes}; pid {root}/nginx.pid;
error_log {root}/error.log; {user}
events {{ worker_connections 1024; }}
http {{ access_log off; default_type text/calendar; etag on;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}/www; }} }}
"""


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def process(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    child = subprocess.Popen(command, env={**os.environ, **(env or {})},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: listening(port), 60, f"{command[0]} on port {port}", interval=0.3)
        yield
    finally:
        child.terminate()
        child.wait(timeout=30)


def app_server(url: str, port: int) -> list[str]:
    return [sys.executable, "-m", "worker.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(PROCESSES)]  # fmt: skip


def nginx_root(body: bytes) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    (root / "www" / "feeds").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "www" / PATH.lstrip("/")).write_bytes(body)
    for folder in (root, root / "www", root / "www" / "feeds"):
        folder.chmod(0o755)
    return root


def nginx_command(root: Path, port: int) -> list[str]:
    user = "user root;" if os.geteuid() == 0 else ""
    config = NGINX.format(processes=PROCESSES, root=root, port=port, user=user)
    (root / "nginx.conf").write_text(config, encoding="utf-8")
    return ["nginx", "-p", str(root), "-c", str(root / "nginx.conf")]


def fetch(port: int, etag: str | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}")
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, response.read(), response.headers.get("ETag", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", exc.headers.get("ETag", "")


def wrk(port: int, seconds: int, etag: str | None = None) -> float:
    """Requests per second wrk measured (CONNECTIONS connections, one per thread)."""
    command = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "60s"]
    if etag:
        command += ["-H", f"If-None-Match: {etag}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{PATH}"], capture_output=True,
                         text=True, check=True, timeout=seconds + 120).stdout  # fmt: skip
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def install() -> None:
    """wrk and nginx from Debian's packages, as scripts/test installs redis-server."""
    if shutil.which("wrk") and shutil.which("nginx"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk", "nginx-light"], check=True,
                   env=env, stdout=subprocess.DEVNULL)  # fmt: skip


def served(url: str, seconds: int) -> dict[str, float]:
    """First build, then wrk on full GETs and revalidations, against the app server."""
    port, kept = free_port(), tempfile.mkdtemp(prefix="bench-feeds-")
    env = {"REMINDERS_DATABASE_URL": url, "REMINDERS_FEEDS_DIR": kept}
    with process(app_server(url, port), port, env):
        start = time.perf_counter()
        status, body, etag = fetch(port)
        first = time.perf_counter() - start
        revalidated, _, _ = fetch(port, etag)
        full = wrk(port, seconds)
        fetch(port)  # what the first run left in flight is done before the second starts
        again = wrk(port, seconds, etag)
    (Path(tempfile.gettempdir()) / "bench-feed.ics").write_bytes(body)
    shutil.rmtree(kept, ignore_errors=True)
    return {"status": status, "bytes": len(body), "first_build_s": first,
            "revalidation_status": revalidated, "full": full, "revalidate": again}  # fmt: skip


def static(body: bytes, seconds: int) -> dict[str, float]:
    root, port = nginx_root(body), free_port()
    try:
        with process(nginx_command(root, port), port):
            _, _, etag = fetch(port)
            revalidated, _, _ = fetch(port, etag)
            return {"full": wrk(port, seconds), "revalidate": wrk(port, seconds, etag),
                    "revalidation_status": revalidated}  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(scale: Scale, databases: Databases) -> list[Figure]:
    install()
    url = databases.fresh("postgresql", "b3")
    app = app_for(url)
    partnership(app, 1_000, sheet_count=50, session_count=scale.sessions)
    settle(app)
    app.close()
    app_side = served(url, scale.load_seconds)
    body = (Path(tempfile.gettempdir()) / "bench-feed.ics").read_bytes()
    floor = static(body, scale.load_seconds)
    what = f"sessions feed, {scale.sessions:,} sessions ({len(body) // 1024:,} KiB)"
    extra = {"first_build_s": round(app_side["first_build_s"], 3), "status": app_side["status"],
             "app_304": app_side["revalidation_status"],
             "nginx_304": floor["revalidation_status"]}  # fmt: skip
    return [
        Figure("B3", f"{what}: GET", app_side["full"], floor["full"], "req/s", GET_TARGET, True,
               extra),
        Figure("B3", f"{what}: revalidation (If-None-Match)", app_side["revalidate"],
               floor["revalidate"], "req/s", REVALIDATION_TARGET, True, extra),
    ]  # fmt: skip
