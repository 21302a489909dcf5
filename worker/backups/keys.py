"""The keys of backups, and what each side holds.

* The **identity** (age's X25519 private key, `AGE-SECRET-KEY-1…`) is the operator's. It
  opens backups (`verify`, `restore`) and never needs to be on the server that makes them:
  it is given where a backup is read, in `REMINDERS_BACKUP_IDENTITY`, a file named by
  `backup_identity_file` or `--identity`.
* The server holds two things made from it by `reminders backup key`: the **recipient**
  (the public key, `age1…`, `backup_recipient`), to which every archive is encrypted, and
  the **origin key** (`REMINDERS_BACKUP_ORIGIN_KEY`), HMAC-SHA256 of a fixed label under the
  identity. The origin key authenticates each archive's manifest (an HMAC-SHA256 over its
  bytes); whoever holds the identity derives it again to check that tag.

Why both: age's encryption is authenticated, so a changed archive does not decrypt; but the
recipient is public (it is in `settings.yaml`, so in every backup), and anyone holding it
can make an archive that decrypts. The tag says the archive came from a holder of the
origin key: the server, or the operator. Someone who can write where backups are kept (a
copy off the machine, a shared folder) without the origin key can neither read an archive
nor make or change one that `verify` or `restore` accept. Not covered: someone in control of
the server (they hold the origin key and the live data itself), and putting an older genuine
archive in place of a newer one (`restore` says when the archive was made; look at it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import x25519

from worker.backups.errors import BackupError
from worker.settings import Settings

LABEL = b"reminders backup origin key v1"
ORIGIN_KEY = re.compile(r"[0-9a-f]{64}")
HOW = "run `reminders backup key FILE` where the backups are to be read, and see the " \
      "operator's guide (Backups and restoring)"  # fmt: skip


@dataclass(frozen=True)
class Sealing:
    """What the server makes backups with: the recipient, and the origin key."""

    recipient: x25519.Recipient
    origin_key: bytes


@dataclass(frozen=True)
class Opening:
    """What a backup is read with: the operator's identities (old and new while a key is
    being rotated), and the origin key each derives."""

    identities: list[x25519.Identity]
    origin_keys: list[bytes]


def sealing(settings: Settings) -> Sealing:
    """The settings' recipient and origin key; BackupError when either is missing, as a
    backup would then hold personal data in the clear or could be forged."""
    secret = settings.backup_origin_key
    if settings.backup_recipient is None or secret is None:
        raise BackupError("no backup is made without a backup key (backup_recipient and "
                          "REMINDERS_BACKUP_ORIGIN_KEY): it would hold personal data in the "
                          f"clear; {HOW}")  # fmt: skip
    if not ORIGIN_KEY.fullmatch(secret.get_secret_value()):
        raise BackupError(f"REMINDERS_BACKUP_ORIGIN_KEY is not an origin key (64 hex "
                          f"digits); {HOW}")  # fmt: skip
    try:
        recipient = x25519.Recipient.from_str(settings.backup_recipient)
    except pyrage.RecipientError as exc:
        raise BackupError(f"backup_recipient is not an age recipient ({exc})") from exc
    return Sealing(recipient, bytes.fromhex(secret.get_secret_value()))


def opening(settings: Settings, identity_file: Path | None = None) -> Opening:
    """The identities in `identity_file`, else in the settings (the environment's first);
    BackupError when there are none."""
    if identity_file is not None:
        text = read_identity_file(identity_file)
    elif settings.backup_identity is not None:
        text = settings.backup_identity.get_secret_value()
    elif settings.backup_identity_file is not None:
        text = read_identity_file(settings.backup_identity_file)
    else:
        raise BackupError("a backup is read with its identity (the private key): give "
                          "--identity FILE, or set REMINDERS_BACKUP_IDENTITY")  # fmt: skip
    identities = parse_identities(text, str(identity_file or "the identity"))
    return Opening(identities, [origin_key(i) for i in identities])


def new_identity(path: Path) -> x25519.Identity:
    """A new identity, written to `path` (0600, a new file) as `age-keygen` writes one."""
    identity = x25519.Identity.generate()
    text = f"# public key: {identity.to_public()}\n{identity}\n"
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"{path}: the identity cannot be written ({exc})") from exc
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(text)
    return identity


def read_identity_file(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path}: the identity cannot be read ({exc})") from exc


def parse_identities(text: str, name: str) -> list[x25519.Identity]:
    """The identities of an age identity file: one a line, `#` comments and blank lines
    left out (as `age-keygen` writes them)."""
    lines = [line.strip() for line in text.splitlines()]
    try:
        found = [x25519.Identity.from_str(line) for line in lines
                 if line and not line.startswith("#")]  # fmt: skip
    except pyrage.IdentityError as exc:
        raise BackupError(f"{name}: not an age identity ({exc})") from exc
    if not found:
        raise BackupError(f"{name}: holds no age identity")
    return found


def origin_key(identity: x25519.Identity) -> bytes:
    """The origin key of `identity`: HMAC-SHA256 of a fixed label under its canonical text,
    which the recipient does not reveal."""
    return hmac.new(str(identity).encode("ascii"), LABEL, hashlib.sha256).digest()


def server_settings(identity: x25519.Identity) -> dict[str, str]:
    """The environment of a server that makes backups `identity` opens."""
    return {"REMINDERS_BACKUP_RECIPIENT": str(identity.to_public()),
            "REMINDERS_BACKUP_ORIGIN_KEY": origin_key(identity).hex()}  # fmt: skip


def tag(key: bytes, manifest: bytes) -> bytes:
    """The manifest's tag, as stored in the archive (hex)."""
    return hmac.new(key, manifest, hashlib.sha256).hexdigest().encode("ascii")


def authentic(keys: list[bytes], manifest: bytes, found: bytes) -> bool:
    """Whether `found` is the manifest's tag under one of `keys`."""
    return any(hmac.compare_digest(tag(key, manifest), found) for key in keys)
