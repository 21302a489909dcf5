"""What a backup must prove before anything of it is trusted (issue 41, findings 5 to 8): it
was made with the backup key (an archive altered and re-manifested, or made, without it is
refused by `verify` and `restore`), its originals are what their names say, the database in
it records a migration this version knows (read from the database, not the manifest), its
members' sizes are the manifest's before a byte is unpacked, and its manifest is read within
a budget. Each refusal changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from pyrage import x25519

from tests.backups.conftest import BackupKey
from tests.backups.support import (
    dumped,
    elsewhere,
    filled,
    forged,
    held,
    manifest_of,
    run,
    sealed,
    tarred,
)
from worker.app import App
from worker.backups import database, keys

ORIGINAL = b"an imported plan"
NAME = f"imports/{hashlib.sha256(ORIGINAL).hexdigest()}"


def refused_everywhere(archive: Path, said: str, new: App) -> None:
    """`verify` and `restore` refuse `archive` saying `said`; the new machine is untouched."""
    for command in (["verify"], ["restore"]):
        code, output = run("backup", *command, str(archive))
        assert code == 1, output
        assert said in output, output
    assert database.is_empty(new.engine)
    assert not new.settings.imports_dir.exists()
    assert not new.settings.signing_key_file.exists()


def altered(archive: Path, key: BackupKey, tmp_path: Path, tagged_with: bytes | None) -> Path:
    """The archive as someone without the key would change it, knowing all it holds: a
    signing key of their choosing, the manifest made again to match, its tag kept (None) or
    made with a key of their own, sealed with `age` to the public recipient."""
    plain = subprocess.run(["age", "-d", "-i", str(key.file), str(archive)],
                           capture_output=True, check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        members = {m.name: extracted(tar, m) for m in tar.getmembers()}
    old_tag = members.pop("manifest.hmac")
    members.pop("manifest.json")
    members["signing-key"] = b"the forger's own signing key"
    manifest = manifest_of(members)
    tag = old_tag if tagged_with is None else keys.tag(tagged_with, manifest)
    remade = tmp_path / "remade.tar.gz"
    remade.write_bytes(tarred({"manifest.json": manifest, "manifest.hmac": tag, **members}))
    forgery = tmp_path / "forged.tar.gz.age"
    subprocess.run(["age", "-r", str(key.recipient_text), "-o", str(forgery), str(remade)],
                   check=True)  # fmt: skip
    return forgery


def extracted(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    data = tar.extractfile(member)
    assert data is not None
    return data.read()


@pytest.mark.parametrize("tag", ["kept", "the forger's own key"])
def test_an_archive_altered_and_remanifested_without_the_key_is_refused(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    backup_key: BackupKey, tag: str,
) -> None:  # fmt: skip
    filled(app)
    archive = tmp_path / "backup.tar.gz.age"
    assert run("backup", "create", str(archive))[0] == 0
    own_key = None if tag == "kept" else b"\x01" * 32
    forgery = altered(archive, backup_key, tmp_path, own_key)
    new = elsewhere(tmp_path, another_database, monkeypatch)
    refused_everywhere(forgery, "not made with this backup key", new)
    new.close()


def test_an_archive_made_to_another_recipient_is_refused(
    tmp_path: Path, backup_key: BackupKey
) -> None:
    stranger = BackupKey(x25519.Identity.generate(), tmp_path / "unused")
    archive = forged(tmp_path / "theirs.tar.gz.age", {"database.sqlite": b"x"},
                     {"database.sqlite": b"x"}, stranger)  # fmt: skip
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert "none of the identities given opens it" in output


def test_an_original_not_named_by_its_sha256_is_refused(
    app: App, another_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    backup_key: BackupKey,
) -> None:  # fmt: skip
    member, data = database.member_for(app.engine), b"x"
    other = b"another document under the plan's name"
    archive = forged(tmp_path / "misnamed.tar.gz.age", {member: data, NAME: other},
                     {member: data, NAME: other}, backup_key)  # fmt: skip
    new = elsewhere(tmp_path, another_database, monkeypatch)
    refused_everywhere(archive, f"{NAME} is not named by its SHA-256", new)
    new.close()


@pytest.mark.parametrize("revision", [None, "0999"])
def test_a_replace_trusts_the_migration_of_the_database_in_the_backup(
    app: App, another_database: str, tmp_path: Path, backup_key: BackupKey,
    revision: str | None,
) -> None:  # fmt: skip
    """The manifest says nothing (null, as the review found it); the database inside
    records none (never initialised) or one this version lacks: --replace refuses it, and
    the live database stays as it was, initialised."""
    filled(app)
    before = held(app)
    member, data = dumped(another_database, tmp_path / "dump", revision)
    archive = forged(tmp_path / "odd.tar.gz.age", {member: data}, {member: data}, backup_key)
    code, output = run("backup", "restore", "--replace", str(archive))
    assert code == 1
    if revision is None:
        assert "its database records no migration" in output
    else:
        assert "made by a newer version of the service (migration 0999)" in output
    assert held(app) == before
    app.check_schema()


def test_a_member_larger_than_its_manifest_says_is_refused_before_it_is_unpacked(
    app: App, tmp_path: Path, backup_key: BackupKey
) -> None:
    member = database.member_for(app.engine)
    huge = bytes(32 << 20)  # gzip makes it 32 KB
    archive = sealed(tmp_path / "lying.tar.gz.age", manifest_of({member: b"x"}),
                     {member: huge}, backup_key)  # fmt: skip
    code, output = run("backup", "restore", "--replace", str(archive))
    assert code == 1
    assert f"{member} is {32 << 20} bytes; its manifest says 1" in output


@pytest.mark.parametrize(
    ("manifest", "said"),
    [
        (b"[]", "the manifest cannot be read"),
        (b'{"created_at": "x", "database": "sqlite", "revision": null, "format": 2,'
         b' "members": []}', "the manifest cannot be read"),
        (b'{"created_at": "x", "database": "sqlite", "revision": null, "format": 2,'
         b' "members": {"database.sqlite": {"size": "1"}}}', "the manifest cannot be read"),
        (b"[" * 200_000 + b"]" * 200_000, "nested 200000 deep; the limit is 8"),
        (json.dumps({"created_at": "\ud800", "database": "sqlite", "revision": None,
                     "format": 2, "members": {}}).encode(), "a lone surrogate"),
    ],
    ids=["a list", "members a list", "a size in words", "deeply nested", "a lone surrogate"],
)  # fmt: skip
def test_a_manifest_that_cannot_be_read_is_refused_as_such(
    tmp_path: Path, backup_key: BackupKey, manifest: bytes, said: str
) -> None:
    archive = sealed(tmp_path / "odd.tar.gz.age", manifest, {}, backup_key)
    code, output = run("backup", "verify", str(archive))
    assert code == 1
    assert "the manifest cannot be read" in output
    assert said in output
