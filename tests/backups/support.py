"""What the backup tests share: running the commands, a filled service and a new machine to
restore to, and archives made by hand (`sealed`), as `create` makes them or as a forger
would."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pyrage
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from tests.backups.conftest import BackupKey
from tests.conftest import seed
from tests.support.helpers import records
from worker.app import App
from worker.backups import database, keys
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


def held(app: App) -> tuple[object, ...]:
    return tuple(records(app, what) for what in ("actions", "mi-sheets", "sessions"))


def manifest_of(listed: dict[str, bytes], revision: str | None = None) -> bytes:
    """A manifest listing `listed` with their true sizes and checksums."""
    members = {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
               for name, data in listed.items()}  # fmt: skip
    return json.dumps({"created_at": "2026-12-04T00:00:00+00:00", "database": "sqlite",
                       "revision": revision, "format": 2, "members": members}).encode()  # fmt: skip


def tarred(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sealed(path: Path, manifest: bytes, members: dict[str, bytes], key: BackupKey,
           origin_key: bytes | None = None) -> Path:  # fmt: skip
    """An archive as `create` makes one: `manifest` tagged with `origin_key` (the key's
    own unless given), then `members`, encrypted to the key's recipient."""
    tag = keys.tag(origin_key or key.origin_key, manifest)
    plain = tarred({"manifest.json": manifest, "manifest.hmac": tag, **members})
    path.write_bytes(pyrage.encrypt(plain, [key.recipient]))
    return path


def forged(path: Path, members: dict[str, bytes], listed: dict[str, bytes], key: BackupKey,
           revision: str | None = None) -> Path:  # fmt: skip
    """An archive made with the key whose manifest lists `listed` (with their true
    checksums) but holds `members`."""
    return sealed(path, manifest_of(listed, revision), members, key)


def dumped(url: str, folder: Path, revision: str | None) -> tuple[str, bytes]:
    """A database of the kind `url` names holding a table, and `revision` in its
    `alembic_version` (none when None), dumped as a backup's member: its name and bytes."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE plans (name VARCHAR(40))"))
        if revision is not None:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    folder.mkdir(parents=True, exist_ok=True)
    member = database.dump(engine, folder)
    engine.dispose()
    return member.name, member.read_bytes()
