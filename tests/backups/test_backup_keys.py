"""The backup key as the operator makes, keeps and rotates it (`reminders backup key`, the
guide's Backups and restoring): the identity stays with the operator and opens backups with
`--identity`, also one `age-keygen` made; the server holds only the recipient and the origin
key; a server without them makes no backup; secrets never in a settings file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.backups.conftest import BackupKey
from tests.backups.support import filled, run
from worker.app import App


def server_lines(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def as_server(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    """The environment of a server: the backup settings, and no identity."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REMINDERS_BACKUP_IDENTITY")


def test_a_new_key_is_written_for_the_operator_and_its_settings_printed(tmp_path: Path) -> None:
    file = tmp_path / "backup.key"
    code, output = run("backup", "key", str(file))
    assert code == 0, output
    assert file.stat().st_mode & 0o777 == 0o600
    printed = server_lines(output)
    assert sorted(printed) == ["REMINDERS_BACKUP_ORIGIN_KEY", "REMINDERS_BACKUP_RECIPIENT"]
    public = subprocess.run(["age-keygen", "-y", str(file)], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    assert printed["REMINDERS_BACKUP_RECIPIENT"] == public
    again = run("backup", "key", str(file))  # an existing file: the same settings again
    assert server_lines(again[1]) == printed
    assert "AGE-SECRET-KEY" not in output  # the identity is in the file only


def test_an_identity_from_age_keygen_makes_and_opens_backups(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "operator.key"
    subprocess.run(["age-keygen", "-o", str(file)], capture_output=True, check=True)
    code, output = run("backup", "key", str(file))
    assert code == 0, output
    as_server(monkeypatch, server_lines(output))
    filled(app)
    archive = tmp_path / "backup.tar.gz.age"
    assert run("backup", "create", str(archive))[0] == 0
    code, output = run("backup", "verify", str(archive))  # the server cannot read it
    assert code == 1
    assert "a backup is read with its identity" in output
    code, output = run("backup", "verify", "--identity", str(file), str(archive))
    assert code == 0, output


def test_after_a_rotation_one_identity_file_opens_old_and_new_backups(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backup_key: BackupKey
) -> None:
    filled(app)
    old = tmp_path / "old.tar.gz.age"
    assert run("backup", "create", str(old))[0] == 0
    rotated = tmp_path / "new.key"
    code, output = run("backup", "key", str(rotated))
    as_server(monkeypatch, server_lines(output))
    new = tmp_path / "new.tar.gz.age"
    assert run("backup", "create", str(new))[0] == 0
    code, output = run("backup", "verify", "--identity", str(rotated), str(old))
    assert code == 1
    assert "none of the identities given opens it" in output
    both = tmp_path / "both.key"
    both.write_text(rotated.read_text() + backup_key.file.read_text())
    for archive in (old, new):
        code, output = run("backup", "verify", "--identity", str(both), str(archive))
        assert code == 0, output


def test_a_server_without_a_backup_key_makes_no_backup(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMINDERS_BACKUP_ORIGIN_KEY")
    archive = tmp_path / "backup.tar.gz.age"
    code, output = run("backup", "create", str(archive))
    assert code == 1
    assert "no backup is made without a backup key" in output
    assert "in the clear" in output
    assert not archive.exists()


@pytest.mark.parametrize("name", ["backup_origin_key", "backup_identity"])
def test_a_settings_file_holding_a_backup_secret_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(f"{name}: x\n", encoding="utf-8")
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(config))
    code, output = run("backup", "key", str(tmp_path / "k"))
    assert code == 1
    assert f"{name}: secrets come from the environment only" in output


def test_the_settings_check_says_when_the_days_backups_would_fail(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMINDERS_BACKUP_DIR", str(tmp_path / "backups"))
    assert "backup" not in run("config", "check")[1]
    monkeypatch.delenv("REMINDERS_BACKUP_RECIPIENT")
    code, output = run("config", "check")
    assert code == 0, output
    assert "warning: backup_dir is set, but the day's backups fail: no backup is made" in output
