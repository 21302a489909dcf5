"""The operator's restore recipe (docs/operator.md, "Restoring onto a new machine") followed
as an operator follows it: its blocks read out of the guide and run by bash, with none of
the old server's environment, in a new folder with a new database, on SQLite and PostgreSQL.
The restored service holds what the old one did (the items, the directory, the kept
originals), keeps nothing in the checkout, starts, and answers: `reminders status`, and a
console whose every download in the import history gives the document."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.backups.conftest import BackupKey
from tests.backups.support import held, run
from tests.conftest import ROOT
from tests.support.console import MANAGER, csrf, every_download
from tests.support.services import free_port, wait_for
from tests.support.web import answers
from worker.app import App
from worker.cli.digests import first_start
from worker.settings import Settings, load_settings

GUIDE = ROOT / "docs" / "operator.md"
BLOCK = re.compile(r"<!-- restore recipe: (\w+) -->\n```sh\n(.*?)```\n", re.DOTALL)
ASSIGNMENT = re.compile(r"([A-Z]+)=")


def recipe() -> dict[str, str]:
    """The guide's recipe: each block by its name."""
    return dict(BLOCK.findall(GUIDE.read_text(encoding="utf-8")))


def assigned(block: str) -> list[str]:
    """The names a block of the operator's own values sets, in order."""
    return [m.group(1) for line in block.splitlines() if (m := ASSIGNMENT.match(line))]


def ours(values: dict[str, str]) -> str:
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


def new_shell(path: Path) -> dict[str, str]:
    """A new machine's shell: the installed `reminders` on PATH, no REMINDERS_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "HOME": str(path)}  # fmt: skip


def bash(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def the_old_service(app: App, tmp_path: Path) -> Path:
    """The embedded default's first start (the samples and their originals), a directory
    version of the business manager's, a generated signing key; its backup."""
    assert first_start(app)
    text = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
    contact = "  - {name: Kelly Waters, email: kelly.waters@example.org, agency: Education}\n"
    edited = tmp_path / "directory.yaml"
    edited.write_text(text.replace("la_contacts:\n", "la_contacts:\n" + contact), "utf-8")
    code, output = run("directory", "load", str(edited), "--by", MANAGER, "--reason", "new LA")
    assert code == 0, output
    app.settings.signing_key_file.write_bytes(b"k" * 32)
    archive = tmp_path / "reminders-2026-12-04.tar.gz.age"
    code, output = run("backup", "create", str(archive))
    assert code == 0, output
    return archive


def holds(app: App) -> tuple[object, str, list[bytes], bytes]:
    """The items, the directory in force, the kept originals and the signing key."""
    code, directory = run("directory", "export")
    assert code == 0, directory
    originals = sorted(p.read_bytes() for p in app.settings.imports_dir.iterdir())
    return held(app), directory, originals, app.settings.signing_key_file.read_bytes()


def database_block(kind: str, steps: dict[str, str], url: str,
                   request: pytest.FixtureRequest) -> str:  # fmt: skip
    """The guide's block for the database: as written on the embedded default; for
    PostgreSQL, the same names with this test's server and Redis."""
    if kind == "sqlite":
        return steps["embedded"]
    assert assigned(steps["postgresql"]) == ["DATABASE", "BROKER"]
    return ours({"DATABASE": url, "BROKER": request.getfixturevalue("redis_url")})


def restored(data: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> App:
    """The service as the recipe's settings file makes it (read by bash), in this process."""
    for name in [n for n in os.environ if n.startswith("REMINDERS_")]:
        monkeypatch.delenv(name)
    for line in bash(sourced(data) + "env -0", env).split("\0"):
        name, _, value = line.partition("=")
        if name.startswith("REMINDERS_"):
            monkeypatch.setenv(name, value)
    return App(load_settings())


def places(settings: Settings) -> list[str]:
    """Every file and folder the settings name, a SQLite database's or broker's included."""
    found = [str(v) for v in settings.model_dump().values() if isinstance(v, Path)]
    urls = (settings.database_url, settings.broker_url)
    return found + [u.split("sqlite:///", 1)[1] for u in urls if "sqlite:///" in u]


def test_the_guides_restore_recipe_restores_onto_a_new_machine(
    app: App, another_database: str, tmp_path: Path, backup_key: BackupKey,
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    archive = the_old_service(app, tmp_path)
    before = holds(app)
    steps = recipe()
    assert list(steps) == ["yours", "embedded", "postgresql", "restore", "start", "check"]
    data = tmp_path / "new-machine"
    yours = {"DATA": str(data), "BACKUP": str(archive), "KEY": str(backup_key.file)}
    assert assigned(steps["yours"]) == list(yours)
    kind = make_url(another_database).get_backend_name()
    database = database_block(kind, steps, another_database, request)
    env = new_shell(tmp_path)
    said = bash(ours(yours) + database + steps["restore"], env)
    assert f"{archive}: whole;" in said
    assert f"{len(before[2])} imported document(s) restored" in said

    new = restored(data, env, monkeypatch)
    assert [p for p in places(new.settings) if p.startswith(str(ROOT))] == []
    assert holds(new) == before
    new.close()
    with started(steps["start"], data, env) as port:
        check = bash(sourced(data) + steps["check"], env)
        with console(check, port) as client:
            assert client.get("/console/").status_code == 200
            assert sorted(every_download(client)) == before[2]
    assert "Periodic jobs" in check


def sourced(data: Path) -> str:
    """What the guide says gives a shell the recipe's settings."""
    return f'DATA={shlex.quote(str(data))}\nset -a; . "$DATA/reminders.env"; set +a\n'


@contextmanager
def started(block: str, data: Path, env: dict[str, str]) -> Iterator[int]:
    """The guide's start command, on a port of its own, until its web server answers; then
    stopped as Ctrl-C would, and every process it started gone."""
    assert block == "reminders start\n"
    port = free_port()
    log = data / "start.log"
    script = sourced(data) + f"reminders start --port {port} > {shlex.quote(str(log))} 2>&1\n"
    shell = subprocess.Popen(["bash", "-eu", "-c", script], env=env, start_new_session=True)
    try:
        wait_for(lambda: answers(port) or shell.poll() is not None, 60, "the web server")
        assert shell.poll() is None, log.read_text(errors="replace")[-3000:]
        yield port
    finally:
        os.killpg(shell.pid, signal.SIGINT)
        shell.wait(60)
        wait_for(lambda: gone(shell.pid), 60, "the services to stop")


def gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


@contextmanager
def console(check: str, port: int) -> Iterator[httpx.Client]:
    """Signed in with the link `check` printed, at the started server's address."""
    link = re.search(r"https?://\S+/console/sign-in/\S+", check)
    assert link is not None, check
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        path = urlsplit(link.group(0)).path
        offer = client.get(path)
        assert offer.status_code == 200, offer.text
        assert client.post(path, data={"csrftoken": csrf(offer)}).status_code == 303
        yield client
