"""The day's backup from the beat: made once a day in the folder the settings name,
encrypted, the newest few kept (the plain backups of earlier versions among them), one made
when two processes ask at once, none without a backup key; and a real beat and worker make
it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.backups.conftest import BackupKey
from tests.support.services import celery_process, wait_for
from tests.support.workers import flush
from worker.app import App
from worker.backups import BackupError, keys, verify
from worker.backups.scheduled import daily, making
from worker.settings import load_settings

NOW = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)


def backing_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int = 14) -> App:
    monkeypatch.setenv("REMINDERS_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setenv("REMINDERS_BACKUPS_KEPT", str(kept))
    app = App(load_settings())
    app.initialise()
    return app


def made(app: App) -> list[str]:
    folder = app.settings.backup_dir
    assert folder is not None
    return sorted(p.name for p in folder.glob("reminders-*"))


def test_the_days_backup_is_made_once_and_the_newest_are_kept(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = backing_up(tmp_path, monkeypatch, kept=2)
    first = daily(app, NOW)
    assert first is not None
    assert first.name == "reminders-2026-12-04.tar.gz.age"
    verify(first, keys.opening(app.settings))
    assert daily(app, NOW + timedelta(hours=3)) is None  # the same day: made already
    for days in (1, 2):
        daily(app, NOW + timedelta(days=days))
    assert made(app) == ["reminders-2026-12-05.tar.gz.age", "reminders-2026-12-06.tar.gz.age"]
    app.close()


def test_the_plain_backups_of_earlier_versions_go_as_new_ones_come(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = backing_up(tmp_path, monkeypatch, kept=2)
    assert app.settings.backup_dir is not None
    app.settings.backup_dir.mkdir()
    for day in ("02", "03"):
        (app.settings.backup_dir / f"reminders-2026-12-{day}.tar.gz").write_bytes(b"plain")
    daily(app, NOW)
    assert made(app) == ["reminders-2026-12-03.tar.gz", "reminders-2026-12-04.tar.gz.age"]
    daily(app, NOW + timedelta(days=1))
    assert made(app) == ["reminders-2026-12-04.tar.gz.age", "reminders-2026-12-05.tar.gz.age"]
    app.close()


def test_without_a_backup_key_the_days_backup_fails_saying_why_and_keeps_the_old(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMINDERS_BACKUP_RECIPIENT")
    app = backing_up(tmp_path, monkeypatch, kept=1)
    assert app.settings.backup_dir is not None
    app.settings.backup_dir.mkdir()
    (app.settings.backup_dir / "reminders-2026-12-03.tar.gz").write_bytes(b"plain")
    with pytest.raises(BackupError, match="would hold personal data in the clear"):
        daily(app, NOW)
    assert made(app) == ["reminders-2026-12-03.tar.gz"]  # not pruned: no newer one
    app.close()


def test_a_local_day_not_a_utc_one(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = backing_up(tmp_path, monkeypatch)
    summer_night = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 July in London
    path = daily(app, summer_night)
    assert path is not None
    assert path.name == "reminders-2026-07-02.tar.gz.age"
    app.close()


def test_while_one_process_makes_it_another_makes_none(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = backing_up(tmp_path, monkeypatch)
    assert app.settings.backup_dir is not None
    with making(app.settings.backup_dir) as mine:  # as another process would hold it
        assert mine
        assert daily(app, NOW) is None  # its own open of the lock file is turned away
    assert made(app) == []
    assert daily(app, NOW) is not None  # let go of: the next check makes it
    app.close()


def test_a_real_beat_and_worker_make_the_days_backup(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str,
    backup_key: BackupKey,
) -> None:  # fmt: skip
    flush(redis_url)
    app = backing_up(tmp_path, monkeypatch)
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url,
           "REMINDERS_BROKER_URL": redis_url,
           "REMINDERS_BACKUP_DIR": str(app.settings.backup_dir),
           "REMINDERS_BACKUP_CHECK_SECONDS": "1", **backup_key.server}  # fmt: skip
    with celery_process("beat", env, tmp_path, "beat"), \
            celery_process("worker", env, tmp_path, "worker"):  # fmt: skip
        wait_for(lambda: len(made(app)) == 1, 60, "the day's backup")
    [name] = made(app)
    today = datetime.now(UTC).astimezone(app.timezone)
    assert name == f"reminders-{today:%Y-%m-%d}.tar.gz.age"
    assert app.settings.backup_dir is not None
    verify(app.settings.backup_dir / name, keys.opening(app.settings))
    app.close()
