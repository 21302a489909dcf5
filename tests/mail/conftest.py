"""What the mail tests share: a DKIM key, and the settings that sign with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DOMAIN, SELECTOR, BOUNCES = "example.org", "reminders2026", "bounces@example.org"


def key_file(folder: Path, bits: int = 2048) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    path = folder / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    path.chmod(0o600)
    return path


@pytest.fixture
def signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = key_file(tmp_path)
    monkeypatch.setenv("REMINDERS_DKIM__DOMAIN", DOMAIN)
    monkeypatch.setenv("REMINDERS_DKIM__SELECTOR", SELECTOR)
    monkeypatch.setenv("REMINDERS_DKIM__KEY_FILE", str(path))
    monkeypatch.setenv("REMINDERS_BOUNCE_ADDRESS", BOUNCES)
    return path
