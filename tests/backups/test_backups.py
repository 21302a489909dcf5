"""Backups made, checked and restored with the `reminders backup` commands, on SQLite and
PostgreSQL: a restore into a new database holds what the old one did; a damaged, cut or
forged archive is refused before anything changes."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import seed
from tests.support.helpers import records
from worker.app import App
from worker.backups import database
from worker.cli import main
from worker.settings import load_settings


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def filled(app: App) -> None:
    """The seeds imported by the command, so their originals are kept; a signing key made."""
    code, output = run("import", str(seed("000")), str(seed("002")), str(seed("003")))
    assert code == 0, output
    app.settings.signing_key_file.write_bytes(b"k" * 32)


def elsewhere(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> App:
    """The settings of a new machine: another database, and folders with nothing in them."""
    monkeypatch.setenv("REMINDERS_DATABASE_URL", url)
    monkeypatch.setenv("REMINDERS_IMPORTS_DIR", str(tmp_path / "new" / "imports"))
    monkeypatch.setenv("REMINDERS_FEEDS_DIR", str(tmp_path / "new" / "feeds"))
    monkeypatch.setenv("REMINDERS_SIGNING_KEY_FILE", str(tmp_path / "new" / "signing-key"))
    return App(load_settings())


def held(app: App) -> tuple[object, ...]:
    return tuple(records(app, what) for what in ("actions", "mi-sheets", "sessions"))


def test_a_backup_restores_into_a_new_database_whole(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled(app)
    archive = tmp_path / "backup.tar.gz"
    code, output = run("backup", "create", str(archive))
    assert code == 0, output
    assert archive.stat().st_mode & 0o777 == 0o600
    code, output = run("backup", "verify", str(archive))
    assert (code, output.startswith(f"{archive}: whole;")) == (0, True), output
    before = held(app)
    originals = sorted(p.name for p in app.settings.imports_dir.iterdir())
    assert len(originals) == 3

    new = elsewhere(tmp_path, another_database, monkeypatch)
    code, output = run("backup", "restore", str(archive))
    assert code == 0, output
    assert "3 imported document(s) restored" in output
    assert held(new) == before
    assert sorted(p.name for p in new.settings.imports_dir.iterdir()) == originals
    assert new.settings.signing_key_file.read_bytes() == b"k" * 32
    new.check_schema()  # at this version's migration

    code, output = run("backup", "restore", str(archive))  # again: the database has content
    assert code == 1
    assert "the database is not empty" in output
    code, output = run("backup", "restore", "--replace", str(archive))
    assert code == 0, output
    assert held(new) == before
    new.close()


def damaged(archive: Path, how: str) -> None:
    data = bytearray(archive.read_bytes())
    if how == "truncated":
        archive.write_bytes(data[: len(data) * 2 // 3])
    else:  # a byte flipped in the middle: gzip's own check, or ours, must see it
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_backup_is_refused_and_changes_nothing(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    filled(app)
    archive = tmp_path / "backup.tar.gz"
    assert run("backup", "create", str(archive))[0] == 0
    damaged(archive, how)
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert str(archive) in output
    assert "not a whole backup archive" in output or "is damaged" in output
    new = elsewhere(tmp_path, another_database, monkeypatch)
    code, output = run("backup", "restore", str(archive))
    assert code == 1
    assert database.is_empty(new.engine)
    assert not new.settings.imports_dir.exists()
    new.close()


def forged(path: Path, members: dict[str, bytes], listed: dict[str, bytes]) -> Path:
    """An archive whose manifest lists `listed` (with their true checksums) but holds
    `members`."""
    import hashlib

    manifest = {"created_at": "2026-12-04T00:00:00+00:00", "database": "sqlite",
                "revision": None, "format": 1,
                "members": {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                            for name, data in listed.items()}}  # fmt: skip
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"manifest.json": json.dumps(manifest).encode(), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("members", "listed", "said"),
    [
        ({"../escaped": b"x"}, {"../escaped": b"x"}, "which no backup holds"),
        (
            {"database.sqlite": b"x", "extra": b"y"},
            {"database.sqlite": b"x"},
            "not in its manifest",
        ),
        ({}, {"database.sqlite": b"x"}, "cut short; missing database.sqlite"),
    ],
)
def test_an_archive_that_is_not_ours_is_refused_by_what_is_wrong(
    tmp_path: Path, members: dict[str, bytes], listed: dict[str, bytes], said: str
) -> None:
    archive = forged(tmp_path / "odd.tar.gz", members, listed)
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert said in output
    assert not (tmp_path.parent / "escaped").exists()
