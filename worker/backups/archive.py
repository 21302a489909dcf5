"""One backup archive: a tar file whose first member, `manifest.json`, lists every other
member with its size and SHA-256. Nothing is read from an archive before it is verified
whole, and only the members the manifest names, under names this module makes, are ever
written out: an archive cannot place a file anywhere else."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError

from worker.app import App
from worker.backups import database
from worker.backups.errors import BackupError
from worker.db import alembic_config, transaction, upgrade
from worker.delivery.ledger import released
from worker.importers.history import SHA256

FORMAT = 1
MANIFEST = "manifest.json"
KEY = "signing-key"
ORIGINAL = re.compile(r"imports/([0-9a-f]{64})")
CONFIG = re.compile(r"config/([\w-][\w.-]*\.yaml)")  # no folder, no leading dot
MEMBER = re.compile(rf"database\.(?:sqlite|pgdump)|{KEY}|{ORIGINAL.pattern}|{CONFIG.pattern}")
CHUNK = 1 << 20
MANIFEST_LIMIT = 64 << 20  # a manifest lists members by name: far less than this


@dataclass(frozen=True)
class Manifest:
    """What an archive holds: each member's size and SHA-256, and the database it copies."""

    created_at: str
    database: str  # "sqlite" or "postgresql"
    revision: str | None  # the database's migration when it was copied
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> size, sha256
    format: int = FORMAT

    @classmethod
    def parse(cls, data: bytes, name: str) -> Manifest:
        try:
            found = json.loads(data)
            manifest = cls(**found)
        except (ValueError, TypeError) as exc:
            raise BackupError(f"{name}: the manifest cannot be read ({exc})") from exc
        if manifest.format != FORMAT:
            raise BackupError(f"{name}: a backup of format {manifest.format}; this version "
                              f"reads format {FORMAT}")  # fmt: skip
        members: object = manifest.members
        if not isinstance(members, dict) or not all(map(described, members.values())):
            raise BackupError(f"{name}: the manifest cannot be read (a member without its "
                              "size and SHA-256)")  # fmt: skip
        odd = [m for m in manifest.members if not MEMBER.fullmatch(m)]
        if odd:
            raise BackupError(f"{name}: the manifest names {odd[0]!r}, which no backup holds")
        return manifest


def described(entry: object) -> bool:
    """A manifest's entry for a member: its size and SHA-256."""
    if not isinstance(entry, dict):
        return False
    size, sha256 = entry.get("size"), entry.get("sha256")
    return isinstance(size, int) and isinstance(sha256, str) and bool(SHA256.fullmatch(sha256))


def create(app: App, path: Path, now: datetime) -> Manifest:
    """A backup of everything the service keeps, written to `path` (0600) only when whole,
    and read back whole before it is called made."""
    with tempfile.TemporaryDirectory(prefix="reminders-backup-") as folder:
        staging = Path(folder)
        database.dump(app.engine, staging)
        for name, source in kept_files(app):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / name)  # what is hashed is what is archived
        sources = {p.relative_to(staging).as_posix(): p
                   for p in sorted(staging.rglob("*")) if p.is_file()}  # fmt: skip
        members = {name: {"size": p.stat().st_size, "sha256": digest(p)}
                   for name, p in sources.items()}  # fmt: skip
        manifest = Manifest(now.isoformat(), app.engine.dialect.name, revision(app), members)
        write_archive(path, manifest, sources)
    try:
        verify(path)
    except BackupError:
        path.unlink(missing_ok=True)
        raise
    return manifest


def kept_files(app: App) -> Iterator[tuple[str, Path]]:
    """Each file kept beside the database, by its member name: the originals, the
    generated signing key, the configuration files."""
    settings = app.settings
    if settings.imports_dir.is_dir():
        for path in sorted(settings.imports_dir.iterdir()):
            if SHA256.fullmatch(path.name) and path.is_file():
                yield f"imports/{path.name}", path
    if settings.signing_key_file.is_file():
        yield KEY, settings.signing_key_file
    if settings.config_dir.is_dir():
        for path in sorted(settings.config_dir.glob("*.yaml")):
            if CONFIG.fullmatch(f"config/{path.name}") and path.is_file():
                yield f"config/{path.name}", path


def revision(app: App) -> str | None:
    with app.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def write_archive(path: Path, manifest: Manifest, sources: dict[str, Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            add_bytes(tar, MANIFEST, json.dumps(asdict(manifest), indent=1).encode())
            for name, source in sources.items():
                tar.add(source, arcname=name, recursive=False)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def verify(path: Path) -> Manifest:
    """The archive's manifest, once every member it names is there with its size and
    SHA-256 and nothing else is; BackupError naming the first fault."""
    return read(path, keep=None)


def read(path: Path, keep: Path | None) -> Manifest:
    """Verify the archive, writing its members under `keep` (when given) as they are read."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            return checked(tar, path, keep)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(f"{path}: not a whole backup archive ({exc})") from exc


def checked(tar: tarfile.TarFile, path: Path, keep: Path | None) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST:
        raise BackupError(f"{path}: not a backup archive (no manifest first)")
    if first.size > MANIFEST_LIMIT:
        raise BackupError(f"{path}: not a backup archive (its manifest is {first.size} bytes)")
    manifest = Manifest.parse(contents(tar, first).read(), str(path))
    seen: set[str] = set()
    while (member := tar.next()) is not None:
        expected = manifest.members.get(member.name)
        if expected is None or not member.isfile() or member.name in seen:
            raise BackupError(f"{path}: {member.name!r} is not in its manifest")
        found = copied(contents(tar, member), keep / member.name if keep else None)
        if found != (expected["size"], expected["sha256"]):
            raise BackupError(f"{path}: {member.name} is damaged (its size or SHA-256 is not "
                              "the manifest's)")  # fmt: skip
        seen.add(member.name)
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupError(f"{path}: cut short; missing {', '.join(missing[:3])}")
    return manifest


def contents(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    data = tar.extractfile(member)
    if data is None:
        raise BackupError(f"{member.name} is not a file")
    return data


def copied(data: IO[bytes], target: Path | None) -> tuple[int, str]:
    """The size and SHA-256 of `data`, written to `target` on the way when given."""
    sha, size = hashlib.sha256(), 0
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    try:
        while chunk := data.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return size, sha.hexdigest()


def digest(path: Path) -> str:
    with path.open("rb") as data:
        return copied(data, None)[1]


def restore(app: App, path: Path, replace: bool = False) -> list[str]:
    """The archive put back: verified whole first, then the database (empty, unless
    `replace`), the originals and the signing key, and configuration files where none are;
    the database then migrated to this version. What was done, in sentences."""
    if not replace and not database.is_empty(app.engine):
        raise BackupError("the database is not empty: restore into a new one, or give "
                          "--replace to put the backup in place of what it holds")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="reminders-restore-") as staging:
        manifest = read(path, Path(staging))
        member = Path(staging) / database.member_for(app.engine)
        if member.name not in manifest.members:
            raise BackupError(f"{path}: holds no {app.engine.dialect.name} database")
        known_migration(app, manifest, path)
        database.load(app.engine, member)
        done = [f"database restored as it was at {manifest.created_at}"]
        done += put_back_files(app, Path(staging), manifest, replace)
    upgrade(app.engine)
    with transaction(app.sessions) as session:
        waiting = released(session)
    return [*done, f"{waiting} digest(s) not yet sent when the backup was taken, to be sent"]


def known_migration(app: App, manifest: Manifest, path: Path) -> None:
    """A backup made by a newer version (a migration this one lacks) is refused before
    anything is touched: this version could not read what it restored."""
    if manifest.revision is None:
        return
    scripts = ScriptDirectory.from_config(alembic_config(app.engine))
    try:
        scripts.get_revision(manifest.revision)
    except (CommandError, ResolutionError) as exc:
        said = f"made by a newer version of the service (migration {manifest.revision})"
        raise BackupError(f"{path}: {said}; restore it with that version") from exc


def put_back_files(app: App, staging: Path, manifest: Manifest, replace: bool) -> list[str]:
    settings = app.settings
    done: list[str] = []
    originals = 0
    for name in manifest.members:
        source = staging / name
        if ORIGINAL.fullmatch(name):
            originals += place(source, settings.imports_dir / source.name)
        elif name == KEY:
            done.append(signing_key(source, settings.signing_key_file, replace))
        elif CONFIG.fullmatch(name) and not place(source, settings.config_dir / source.name):
            done.append(f"{settings.config_dir / source.name} kept as it is (the backup's "
                        f"copy is in the archive as {name})")  # fmt: skip
    return [f"{originals} imported document(s) restored", *done]


def signing_key(source: Path, target: Path, replace: bool) -> str:
    """The backup's key put back: the links of the digests it holds were signed with it."""
    if target.exists() and target.read_bytes() == source.read_bytes():
        return "signing key: the same as the backup's"
    if place(source, target, replace):
        return "signing key restored"
    return (
        "signing key kept, and it differs from the backup's: links in digests made "
        "before the backup will not work (give --replace to take the backup's)"
    )


def place(source: Path, target: Path, replace: bool = False) -> bool:
    """`source` moved to `target` (0600) unless a file is there (and not `replace`);
    whether it was."""
    if target.exists() and not replace:
        return False
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(source, 0o600)
    shutil.move(source, target)  # the staging folder may be on another file system
    return True
