"""A backup taken (encrypted) while the worker sends, the machine then lost (its processes killed), the
backup restored into a new database and the worker started on it: every digest of the
period is delivered, and none that the backup records as sent goes out again. The real
processes of the reliability scenes: Redis, Celery worker and beat, an SMTP server, SQLite
and PostgreSQL."""

from __future__ import annotations

from click.testing import CliRunner

from tests.delivery.test_reliability import SCHOOLS, Scene, report, scene
from tests.support.services import Recorder, SmtpServer, free_port, kill_hard, wait_for
from tests.support.workers import ledger, run_workers, settle
from worker.app import App
from worker.cli import main
from worker.models import DeliveryState
from worker.settings import load_settings

__all__ = ["scene"]  # the reliability scenes' fixture, used here


def test_a_backup_taken_while_sending_restores_and_sends_the_rest_once(
    scene: Scene, another_database: str
) -> None:
    archive = scene.folder / "backup.tar.gz.age"
    recorder = scene.recorder
    recorder.delay = 0.05  # a relay slow enough for the backup to land mid-period
    env = scene.env()
    with run_workers(env, scene.folder) as processes:
        wait_for(lambda: recorder.count() >= 40, 90, "40 digests sent")
        recorder.delay = 1.0  # the relay slows: the period is still going out when copied
        made = CliRunner().invoke(main, ["backup", "create", str(archive)])
        for process in processes:  # the machine lost just after its backup
            kill_hard(process)
    assert made.exit_code == 0, made.output
    first = set(recorder.addresses())

    scene.monkeypatch.setenv("REMINDERS_DATABASE_URL", another_database)
    restored = CliRunner().invoke(main, ["backup", "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "not yet sent when the backup was taken, to be sent" in restored.output
    new = App(load_settings())
    recorded = {r.recipient for r in ledger(new) if r.state == DeliveryState.SENT}
    assert 0 < len(recorded) < SCHOOLS  # the backup caught the period part sent

    server = SmtpServer(Recorder(), free_port())
    server.start()
    try:
        env = scene.env(smtp_port=server.port, database_url=another_database)
        with run_workers(env, scene.folder):
            settle(server.recorder, SCHOOLS - len(recorded), new, scene.folder)
    finally:
        server.stop()
    again = server.recorder.addresses()
    everyone = {r.recipient for r in ledger(new)}
    assert len(everyone) == SCHOOLS
    assert recorded.isdisjoint(again)  # what the backup says was sent is never sent again
    assert sorted(again) == sorted(everyone - recorded)  # the rest once each
    assert first | set(again) == everyone  # nothing lost
    late = len(first & set(again))  # sent after the backup, before the machine was lost
    report("backup, machine lost, restore", f"{len(recorded)} sent in the backup, the other "
           f"{len(again)} sent once by the restored worker; {late} had gone out after the "
           "backup was taken (the backup's age)")  # fmt: skip
    new.close()
