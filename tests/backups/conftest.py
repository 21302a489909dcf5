"""The backup key of these tests: an identity made once for the run, written as `age-keygen`
writes one, and the settings the server and the operator then hold, set for each test (the
server's recipient and origin key, the operator's identity: one process plays both here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pyrage import x25519

from worker.backups import keys


@dataclass(frozen=True)
class BackupKey:
    identity: x25519.Identity
    file: Path  # the identity, as the operator keeps it

    @property
    def recipient(self) -> x25519.Recipient:
        return self.identity.to_public()

    @property
    def recipient_text(self) -> str:
        return self.server["REMINDERS_BACKUP_RECIPIENT"]

    @property
    def origin_key(self) -> bytes:
        return keys.origin_key(self.identity)

    @property
    def server(self) -> dict[str, str]:
        """The environment of the server that makes backups."""
        return keys.server_settings(self.identity)


@pytest.fixture(scope="session")
def backup_identity(tmp_path_factory: pytest.TempPathFactory) -> BackupKey:
    file = tmp_path_factory.mktemp("operator") / "backup.key"
    return BackupKey(keys.new_identity(file), file)


@pytest.fixture(autouse=True)
def backup_key(backup_identity: BackupKey, monkeypatch: pytest.MonkeyPatch) -> BackupKey:
    for name, value in backup_identity.server.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REMINDERS_BACKUP_IDENTITY", str(backup_identity.identity))
    return backup_identity
