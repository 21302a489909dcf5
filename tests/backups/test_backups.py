"""Backups made, checked and restored with the `reminders backup` commands, on SQLite and
PostgreSQL: a restore into a new database holds what the old one did; the archive is
encrypted (Debian's `age` reads it with the identity); a damaged or cut archive, or one that
is not ours, is refused before anything changes."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.backups.conftest import BackupKey
from tests.backups.support import elsewhere, filled, forged, held, run, tarred
from tests.conftest import ROOT
from worker.app import App
from worker.backups import database
from worker.importers.history import keep_original


def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/ as an installation has it: with a file of its own, linked in."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder)
    (tmp_path / "mounted.yaml").write_text("smtp: {host: relay.example.org}\n", encoding="utf-8")
    (folder / "settings.local.yaml").symlink_to(tmp_path / "mounted.yaml")
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    return folder


def test_a_backup_restores_into_a_new_database_whole(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configured(tmp_path, monkeypatch)
    filled(app)
    archive = tmp_path / "backup.tar.gz.age"
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
    elif how == "cut at the end":  # as a copy that stopped short: age's last chunk lost
        archive.write_bytes(data[: len(data) - 20])
    else:  # a byte flipped in the middle: age's authentication must see it
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "cut at the end", "flipped"])
def test_a_damaged_backup_is_refused_and_changes_nothing(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    filled(app)
    archive = tmp_path / "backup.tar.gz.age"
    assert run("backup", "create", str(archive))[0] == 0
    damaged(archive, how)
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert str(archive) in output
    assert "cannot be decrypted" in output
    new = elsewhere(tmp_path, another_database, monkeypatch)
    code, output = run("backup", "restore", str(archive))
    assert code == 1
    assert database.is_empty(new.engine)
    assert not new.settings.imports_dir.exists()
    new.close()


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
    tmp_path: Path,
    members: dict[str, bytes],
    listed: dict[str, bytes],
    said: str,
    backup_key: BackupKey,
) -> None:
    archive = forged(tmp_path / "odd.tar.gz.age", members, listed, backup_key)
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert said in output
    assert not (tmp_path.parent / "escaped").exists()


def test_a_replace_that_fails_leaves_the_database_as_it_was(
    app: App, tmp_path: Path, backup_key: BackupKey
) -> None:
    filled(app)
    before = held(app)
    member = database.member_for(app.engine)
    archive = forged(tmp_path / "broken.tar.gz.age", {member: b"not a database"},
                     {member: b"not a database"}, backup_key)  # fmt: skip
    code, output = run("backup", "restore", "--replace", str(archive))
    assert code == 1
    assert "pg_restore failed" in output or "not a SQLite database" in output
    assert held(app) == before


def test_an_operator_reads_a_backup_with_ages_own_tool(
    app: App, tmp_path: Path, backup_key: BackupKey
) -> None:
    filled(app)
    preview_only = keep_original(app.settings.imports_dir, b"uploaded for a preview only")
    archive = tmp_path / "backup.tar.gz.age"
    assert run("backup", "create", str(archive))[0] == 0
    sealed = archive.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n")
    assert b"k" * 32 not in sealed  # nothing in the clear
    assert b"manifest.json" not in sealed
    plain = subprocess.run(["age", "-d", "-i", str(backup_key.file), str(archive)],
                           capture_output=True, check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        names = tar.getnames()
        key = tar.extractfile("signing-key")
        assert key is not None
        assert key.read() == b"k" * 32
    assert names[:2] == ["manifest.json", "manifest.hmac"]
    assert database.member_for(app.engine) in names
    assert sum(name.startswith("imports/") for name in names) == 3  # the imported ones only
    assert f"imports/{preview_only.name}" not in names


def test_a_backup_made_before_backups_were_encrypted_is_named_as_such(tmp_path: Path) -> None:
    archive = tmp_path / "old.tar.gz"
    archive.write_bytes(tarred({"manifest.json": b"{}"}))
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert "a backup made before backups were encrypted" in output
