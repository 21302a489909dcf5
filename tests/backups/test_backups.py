"""Backups made, checked and restored with the `reminders backup` commands, on SQLite and
PostgreSQL: a restore into a new database holds what the old one did; a damaged, cut or
forged archive is refused before anything changes."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, seed
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
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(tmp_path / "new" / "config"))
    return App(load_settings())


def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/ as an installation has it: with a file of its own, linked in."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    (tmp_path / "mounted.yaml").write_text("smtp: {host: relay.example.org}\n", encoding="utf-8")
    (folder / "settings.local.yaml").symlink_to(tmp_path / "mounted.yaml")
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    return folder


def held(app: App) -> tuple[object, ...]:
    return tuple(records(app, what) for what in ("actions", "mi-sheets", "sessions"))


def test_a_backup_restores_into_a_new_database_whole(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configured(tmp_path, monkeypatch)
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
    restored_config = new.settings.config_dir
    assert sorted(p.name for p in restored_config.iterdir()) == sorted(
        p.name for p in config.iterdir())  # fmt: skip
    assert (
        restored_config / "settings.local.yaml"
    ).read_text() == "smtp: {host: relay.example.org}\n"
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


def forged(path: Path, members: dict[str, bytes], listed: dict[str, bytes],
           revision: str | None = None) -> Path:  # fmt: skip
    """An archive whose manifest lists `listed` (with their true checksums) but holds
    `members`."""
    manifest = {"created_at": "2026-12-04T00:00:00+00:00", "database": "sqlite",
                "revision": revision, "format": 1,
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


def test_a_backup_of_a_newer_version_is_refused_before_anything_changes(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = database.member_for(app.engine)
    archive = forged(tmp_path / "newer.tar.gz", {member: b"x"}, {member: b"x"},
                     revision="0999")  # fmt: skip
    new = elsewhere(tmp_path, another_database, monkeypatch)
    code, output = run("backup", "restore", str(archive))
    assert code == 1
    assert "made by a newer version of the service (migration 0999)" in output
    assert database.is_empty(new.engine)
    new.close()


def test_a_replace_that_fails_leaves_the_database_as_it_was(app: App, tmp_path: Path) -> None:
    filled(app)
    before = held(app)
    member = database.member_for(app.engine)
    archive = forged(tmp_path / "broken.tar.gz", {member: b"not a database"},
                     {member: b"not a database"})  # fmt: skip
    code, output = run("backup", "restore", "--replace", str(archive))
    assert code == 1
    assert "pg_restore failed" in output or "not a SQLite database" in output
    assert held(app) == before


@pytest.mark.parametrize(
    "manifest",
    [
        b"[]",
        b'{"created_at": "x", "database": "sqlite", "revision": null, "members": []}',
        b'{"created_at": "x", "database": "sqlite", "revision": null,'
        b' "members": {"database.sqlite": {"size": "1"}}}',
    ],
)
def test_a_manifest_that_cannot_be_read_is_refused_as_such(tmp_path: Path, manifest: bytes) -> None:
    archive = tmp_path / "odd.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert "the manifest cannot be read" in output
