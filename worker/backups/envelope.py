"""The age envelope around an archive: a finished tar file encrypted to the recipient, and an
encrypted archive read back as a stream, decrypted as it is read, so that neither the
archive nor its plaintext is ever held in memory whole (pyrage's `encrypt_io` and
`decrypt_io` work in age's 64 KiB chunks, each authenticated on its own).

The file is age's standard format (`age -d -i KEYFILE backup.tar.gz.age | tar -tz` reads
it). A stream read to its end has been authenticated whole: a cut or changed archive fails
at the first chunk that is not age's, and the caller hears of it before it trusts anything.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pyrage
from pyrage import x25519

from worker.backups.errors import BackupError

GZIP = b"\x1f\x8b"
AGE = b"age-encryption.org/v1\n"
CHUNK = 1 << 16
TRAILING_LIMIT = 1 << 20  # after the tar's end: its padding and gzip's trailer, far less


def seal(plain: Path, path: Path, recipient: x25519.Recipient) -> None:
    """`plain` encrypted to `recipient` as `path` (0600), which appears only when whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out, plain.open("rb") as source:
            pyrage.encrypt_io(source, out, [recipient])
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except pyrage.EncryptError as exc:
        Path(partial).unlink(missing_ok=True)
        raise BackupError(f"{path}: the backup could not be encrypted ({exc})") from exc
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


@contextmanager
def opened(path: Path, identities: list[x25519.Identity]) -> Iterator[IO[bytes]]:
    """The plaintext of the archive at `path`, decrypted in a thread as it is read. A
    failure to decrypt (a wrong identity, a changed or cut file) is raised as BackupError
    when the block ends, in place of whatever the reader made of the stream."""
    kind(path)
    readable, writable = os.pipe()
    failures: list[Exception] = []
    thread = threading.Thread(target=decrypt, args=(path, writable, identities, failures),
                              name="backup-decrypt", daemon=True)  # fmt: skip
    thread.start()
    reader = os.fdopen(readable, "rb")
    try:
        yield reader
    except Exception:
        stopped(reader, thread)
        refused(path, failures)
        raise
    trailing = drained(reader)  # to age's last chunk, which says the file is not cut
    stopped(reader, thread)
    refused(path, failures)
    if trailing > TRAILING_LIMIT:
        raise BackupError(f"{path}: not a backup archive (more than its members after them)")


def drained(reader: IO[bytes]) -> int:
    """The bytes left in the stream, read to its end or just past the limit."""
    left = 0
    while left <= TRAILING_LIMIT and (chunk := reader.read(CHUNK)):
        left += len(chunk)
    return left


def kind(path: Path) -> None:
    """BackupError unless `path` starts as age's files do (a backup made before they were
    encrypted is named as such)."""
    try:
        with path.open("rb") as data:
            start = data.read(len(AGE))
    except OSError as exc:
        raise BackupError(f"{path}: cannot be read ({exc})") from exc
    if start.startswith(GZIP):
        raise BackupError(f"{path}: a backup made before backups were encrypted; its "
                          "origin cannot be checked: restore it with the version that made "
                          "it")  # fmt: skip
    if start != AGE:
        raise BackupError(f"{path}: not a backup archive (not an age-encrypted file)")


def decrypt(path: Path, writable: int, identities: list[x25519.Identity],
            failures: list[Exception]) -> None:  # fmt: skip
    try:
        with path.open("rb") as source, os.fdopen(writable, "wb") as sink:
            pyrage.decrypt_io(source, sink, identities)
    except BrokenPipeError:
        pass  # the reader stopped early and says why
    except (pyrage.DecryptError, OSError) as exc:
        failures.append(exc)


def stopped(reader: IO[bytes], thread: threading.Thread) -> None:
    """The stream closed (a decryption still writing ends on the broken pipe) and its
    thread ended."""
    reader.close()
    thread.join()


def refused(path: Path, failures: list[Exception]) -> None:
    if failures:
        said = str(failures[0])
        if "No matching keys" in said:
            said = "none of the identities given opens it"
        raise BackupError(f"{path}: cannot be decrypted: {said} (a changed or cut archive, "
                          "or another key's)")  # fmt: skip
