"""Fixtures: each real service once per run, a fresh database per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.browser import CHECKER, MARKUP_WARNINGS, chromium
from tests.support.services import (
    NuChecker,
    Recorder,
    nu_checker,
    postgres_cluster,
    redis_server,
    smtp_server,
)
from worker.app import App
from worker.config.versions import DIRECTORY, Author, save
from worker.db import transaction
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("REMINDERS_SEEDS", ROOT.parent / "shared" / "seeds"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run lists only its own markup warnings (once, by the process that runs the others)."""
    if not hasattr(session.config, "workerinput"):
        MARKUP_WARNINGS.unlink(missing_ok=True)


def seed(prefix: str) -> Path:
    """One of the partnership's original documents, by its number (000 … 004)."""
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.fail(f"seed document {prefix} not found in {SEEDS}")
    return matches[0]


@pytest.fixture(autouse=True)
def signing_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Digest links are signed with a key made for each test, never the checkout's var/ one."""
    path = tmp_path / "signing-key"
    monkeypatch.setenv("REMINDERS_SIGNING_KEY_FILE", str(path))
    monkeypatch.delenv("REMINDERS_SIGNING_KEY", raising=False)
    monkeypatch.setenv("REMINDERS_IMPORTS_DIR", str(tmp_path / "imports"))  # originals too
    monkeypatch.setenv("REMINDERS_FEEDS_DIR", str(tmp_path / "feeds"))  # feeds kept as files
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """One real redis-server for the run; tests flush it before use."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def markup_checker() -> Iterator[NuChecker]:
    """One Nu HTML Checker for the run, as a local web service."""
    with nu_checker() as checker:
        CHECKER.append(checker)
        yield checker
        CHECKER.remove(checker)


@pytest.fixture(scope="session")
def browser(markup_checker: NuChecker) -> Iterator[Browser]:
    """One headless Chromium (Debian's) for the run, driven by Playwright; every page it
    looks at is checked by the Nu HTML Checker too."""
    with chromium() as found:
        yield found


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server (aiosmtpd) for one test: its recorder and port."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def relay(smtp: tuple[Recorder, int], monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The SMTP server of `smtp` as the relay in the settings (this machine: no STARTTLS)."""
    monkeypatch.setenv("REMINDERS_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("REMINDERS_SMTP__PORT", str(smtp[1]))
    monkeypatch.setenv("REMINDERS_SMTP__STARTTLS", "false")
    return smtp[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test."""
    with empty_database(request, request.param, tmp_path / "reminders.db") as url:
        yield url


@pytest.fixture
def another_database(database_url: str, request: pytest.FixtureRequest, tmp_path: Path
                     ) -> Iterator[str]:  # fmt: skip
    """A second new, empty database of the same kind as `database_url`."""
    kind = make_url(database_url).get_backend_name()
    with empty_database(request, kind, tmp_path / "another.db") as url:
        yield url


@contextmanager
def empty_database(request: pytest.FixtureRequest, kind: str, file: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{file}"
        return
    server = make_url(request.getfixturevalue("postgres_server"))
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The application on a fresh, initialised database; CLI commands see the same one."""
    monkeypatch.setenv("REMINDERS_DATABASE_URL", database_url)
    application = App(load_settings())
    application.initialise()
    yield application
    application.close()


# LA contacts the seed MI sheets name (000: Daniel Halls, 003: Kelly Waters), as a
# partnership's directory would list them: at directory addresses, never the sheets' own.
SEED_LA_CONTACTS = {
    "Daniel Halls": "daniel.halls@example.org",
    "Kelly Waters": "kelly.waters@example.org",
}


def use_la_contacts(
    app: App, monkeypatch: pytest.MonkeyPatch, folder: Path, people: dict[str, str]
) -> Path:
    """A copy of config/ whose directory also lists `people` (name → address) as LA contacts
    of Education, in force for `app` and for commands run in this test."""
    folder.mkdir()
    for name in ("settings.yaml", "escalation.yaml"):
        (folder / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"))
    entries = "".join(
        f"  - {{name: {name}, email: {email}, agency: Education}}\n"
        for name, email in people.items()
    )
    directory = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
    (folder / "directory.yaml").write_text(
        directory.replace("la_contacts:\n", "la_contacts:\n" + entries), encoding="utf-8"
    )
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    app.settings = app.settings.model_copy(update={"config_dir": folder})
    new_version(app, DIRECTORY, (folder / "directory.yaml").read_text(encoding="utf-8"))
    return folder


def new_version(app: App, kind: str, text: str) -> None:
    """`text` saved as the next version of `kind`, as `reminders … load` would, in force."""
    with transaction(app.sessions) as session:
        save(session, kind, text, Author("tests@example.org", "for this test"),
             app.settings.config_dir)  # fmt: skip
    app.sync_directory()


@pytest.fixture
def seed_contacts(app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> App:
    """The app with the seed sheets' LA contacts in its directory."""
    use_la_contacts(app, monkeypatch, tmp_path / "config", SEED_LA_CONTACTS)
    return app
