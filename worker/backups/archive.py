"""One backup archive: a gzipped tar file in age's envelope (`envelope.py`), encrypted to
the backup recipient. Its first member, `manifest.json`, lists every other member with its
size and SHA-256; the second, `manifest.hmac`, is the manifest's tag under the origin key
(`keys.py`, which says what that holds off). The tag is checked before the manifest is
parsed (within a size and depth budget), each member's size before a byte of it is
unpacked, and every member's SHA-256 (an original's also against its name) as it is read.
Nothing from an archive is put in place before it has been read and checked whole, and only
the members the manifest names, under names this module makes, are ever written out: an
archive cannot place a file anywhere else. A restore trusts the migration recorded by the
database in the archive, never the manifest's word for it."""

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
from worker.backups import database, envelope, keys
from worker.backups.errors import BackupError
from worker.backups.keys import Opening
from worker.db import alembic_config, transaction, upgrade
from worker.delivery.ledger import released
from worker.importers import json_budget
from worker.importers.history import SHA256, imported_originals

FORMAT = 2  # 1: a plain tar file, its manifest not authenticated
MANIFEST, TAG = "manifest.json", "manifest.hmac"
TAG_SIZE = 64  # HMAC-SHA256, in hex
KEY = "signing-key"
ORIGINAL = re.compile(r"imports/([0-9a-f]{64})")
CONFIG = re.compile(r"config/([\w-][\w.-]*\.yaml)")  # no folder, no leading dot
MEMBER = re.compile(rf"database\.(?:sqlite|pgdump)|{KEY}|{ORIGINAL.pattern}|{CONFIG.pattern}")
CHUNK = 1 << 20
MANIFEST_LIMIT = 64 << 20  # a manifest lists members by name: far less than this
MANIFEST_DEPTH = 8  # it is three deep
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)  # not GNU's sparse files, whose size is
# what they unpack to, not what they hold


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
            found = json_budget.loads(data, max_bytes=MANIFEST_LIMIT, max_depth=MANIFEST_DEPTH)
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
        misnamed = [m for m, entry in manifest.members.items()
                    if (sha := ORIGINAL.fullmatch(m)) and sha[1] != entry["sha256"]]  # fmt: skip
        if misnamed:
            raise BackupError(f"{name}: {misnamed[0]} is not named by its SHA-256")
        return manifest


def described(entry: object) -> bool:
    """A manifest's entry for a member: its size and SHA-256."""
    if not isinstance(entry, dict):
        return False
    size, sha256 = entry.get("size"), entry.get("sha256")
    return isinstance(size, int) and isinstance(sha256, str) and bool(SHA256.fullmatch(sha256))


def create(app: App, path: Path, now: datetime) -> Manifest:
    """A backup of everything the service keeps, encrypted to the backup recipient and
    written to `path` (0600) only when whole; its tar file is read back and checked whole
    before it is encrypted (the server cannot decrypt it: it has no identity)."""
    sealing = keys.sealing(app.settings)  # before anything is copied
    with tempfile.TemporaryDirectory(prefix="reminders-backup-") as folder:
        staging, plain = Path(folder) / "members", Path(folder) / "archive.tar.gz"
        staging.mkdir()
        database.dump(app.engine, staging)
        for name, source in kept_files(app):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / name)  # what is hashed is what is archived
        sources = {p.relative_to(staging).as_posix(): p
                   for p in sorted(staging.rglob("*")) if p.is_file()}  # fmt: skip
        members = {name: {"size": p.stat().st_size, "sha256": digest(p)}
                   for name, p in sources.items()}  # fmt: skip
        manifest = Manifest(now.isoformat(), app.engine.dialect.name, revision(app), members)
        write_archive(plain, manifest, sealing.origin_key, sources)
        read_plain(plain, [sealing.origin_key])
        envelope.seal(plain, path, sealing.recipient)
    return manifest


def kept_files(app: App) -> Iterator[tuple[str, Path]]:
    """Each file kept beside the database, by its member name: the originals some import
    names (never a document uploaded only for a preview), the generated signing key, the
    configuration files."""
    settings = app.settings
    if settings.imports_dir.is_dir():
        with app.sessions() as session:
            named = imported_originals(session)
        for path in sorted(settings.imports_dir.iterdir()):
            if path.name in named and SHA256.fullmatch(path.name) and path.is_file():
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


def write_archive(path: Path, manifest: Manifest, origin_key: bytes,
                  sources: dict[str, Path]) -> None:  # fmt: skip
    """The plain tar file (in the staging folder, owner-only): the manifest, its tag, the
    members."""
    text = json.dumps(asdict(manifest), indent=1).encode()
    with tarfile.open(path, mode="w:gz") as tar:
        add_bytes(tar, MANIFEST, text)
        add_bytes(tar, TAG, keys.tag(origin_key, text))
        for name, source in sources.items():
            tar.add(source, arcname=name, recursive=False)


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def verify(path: Path, opening: Opening) -> Manifest:
    """The archive's manifest, once it decrypts with `opening`'s identities, its manifest
    carries the tag of their origin key, and every member it names is there with its size
    and SHA-256 and nothing else is; BackupError naming the first fault."""
    return read(path, opening, keep=None)


def read(path: Path, opening: Opening, keep: Path | None) -> Manifest:
    """Verify the archive, writing its members under `keep` (when given) as they are read."""
    try:
        with envelope.opened(path, opening.identities) as stream, \
                tarfile.open(fileobj=stream, mode="r|gz") as tar:  # fmt: skip
            return checked(tar, path, opening.origin_keys, keep)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(f"{path}: not a whole backup archive ({exc})") from exc


def read_plain(path: Path, origin_keys: list[bytes]) -> Manifest:
    """Verify the tar file at `path` before it is encrypted."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            return checked(tar, path, origin_keys, None)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupError(f"{path}: not a whole backup archive ({exc})") from exc


def checked(tar: tarfile.TarFile, path: Path, origin_keys: list[bytes],
            keep: Path | None) -> Manifest:  # fmt: skip
    manifest = authenticated(tar, path, origin_keys)
    seen: set[str] = set()
    while (member := tar.next()) is not None:
        expected = manifest.members.get(member.name)
        if expected is None or member.type not in FILE_TYPES or member.name in seen:
            raise BackupError(f"{path}: {member.name!r} is not in its manifest")
        if member.size != expected["size"]:  # before a byte of it is unpacked
            raise BackupError(f"{path}: {member.name} is {member.size} bytes; its manifest "
                              f"says {expected['size']}")  # fmt: skip
        found = copied(contents(tar, member), keep / member.name if keep else None,
                       limit=expected["size"])  # fmt: skip
        if found != (expected["size"], expected["sha256"]):
            raise BackupError(f"{path}: {member.name} is damaged (its size or SHA-256 is not "
                              "the manifest's)")  # fmt: skip
        seen.add(member.name)
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise BackupError(f"{path}: cut short; missing {', '.join(missing[:3])}")
    return manifest


def authenticated(tar: tarfile.TarFile, path: Path, origin_keys: list[bytes]) -> Manifest:
    """The manifest, read only once its tag is the origin key's."""
    text = small_member(tar, MANIFEST, MANIFEST_LIMIT, path)
    found = small_member(tar, TAG, TAG_SIZE, path)
    if not keys.authentic(origin_keys, text, found):
        raise BackupError(f"{path}: not made with this backup key (its manifest's tag is "
                          "not the origin key's): changed, or made without the key")  # fmt: skip
    return Manifest.parse(text, str(path))


def small_member(tar: tarfile.TarFile, name: str, limit: int, path: Path) -> bytes:
    """The next member, which must be `name` and at most `limit` bytes."""
    member = tar.next()
    if member is None or member.name != name or member.type not in FILE_TYPES:
        raise BackupError(f"{path}: not a backup archive (no {name} where it belongs)")
    if member.size > limit:
        raise BackupError(f"{path}: not a backup archive (its {name} is {member.size} bytes)")
    return contents(tar, member).read(limit)


def contents(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    data = tar.extractfile(member)
    if data is None:
        raise BackupError(f"{member.name} is not a file")
    return data


def copied(data: IO[bytes], target: Path | None, limit: int | None = None) -> tuple[int, str]:
    """The size and SHA-256 of `data`, written to `target` on the way when given; no more
    than one chunk past `limit` is read, so a member longer than it says is never unpacked
    whole."""
    sha, size = hashlib.sha256(), 0
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    try:
        while (limit is None or size <= limit) and (chunk := data.read(CHUNK)):
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


def restore(app: App, path: Path, opening: Opening, replace: bool = False) -> list[str]:
    """The archive put back: verified whole first (`verify`), and the migration of the
    database in it known to this version, then the database (empty, unless `replace`), the
    originals and the signing key, and configuration files where none are; the database
    then migrated to this version. What was done, in sentences."""
    if not replace and not database.is_empty(app.engine):
        raise BackupError("the database is not empty: restore into a new one, or give "
                          "--replace to put the backup in place of what it holds")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="reminders-restore-") as staging:
        manifest = read(path, opening, Path(staging))
        member = Path(staging) / database.member_for(app.engine)
        if member.name not in manifest.members:
            raise BackupError(f"{path}: holds no {app.engine.dialect.name} database")
        known_migration(app, database.revision_in(member), path)
        database.load(app.engine, member)
        done = [f"database restored as it was at {manifest.created_at}"]
        done += put_back_files(app, Path(staging), manifest, replace)
    upgrade(app.engine)
    with transaction(app.sessions) as session:
        waiting = released(session)
    return [*done, f"{waiting} digest(s) not yet sent when the backup was taken, to be sent"]


def known_migration(app: App, found: str | None, path: Path) -> None:
    """The database in the backup records a migration this version knows (`found`, read
    from the database itself), else it is refused before anything is touched: one of a
    newer version could not be read, one with none is no database of the service."""
    if found is None:
        raise BackupError(f"{path}: its database records no migration (it was never "
                          "initialised, or is not the service's): nothing restored")  # fmt: skip
    scripts = ScriptDirectory.from_config(alembic_config(app.engine))
    try:
        scripts.get_revision(found)
    except (CommandError, ResolutionError) as exc:
        said = f"made by a newer version of the service (migration {found})"
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
