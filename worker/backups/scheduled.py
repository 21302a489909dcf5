"""The day's backup, made from the beat when `backup_dir` is set: the first check of each
local day writes `reminders-YYYY-MM-DD.tar.gz.age` there, then only the newest
`backups_kept` are left (the plain `.tar.gz` backups of earlier versions counted with them,
so they go as new ones come). Two workers asked at once make one: a lock on the folder, held
by the one making it, turns the other away; a file already there is never made again.
Without a backup key none is made, and the job fails each time it is asked, saying why
(`reminders status`, `/health/ready`): a backup in the clear is not made in its place."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from worker.app import App
from worker.backups.archive import create
from worker.workdays import local_date

log = logging.getLogger(__name__)
PATTERN = "reminders-*.tar.gz*"  # .tar.gz.age, and the plain ones before them


def daily(app: App, now: datetime) -> Path | None:
    """The day's backup made, if due and nobody is making it; its path, else None."""
    folder = app.settings.backup_dir
    if folder is None:
        return None
    path = folder / f"reminders-{local_date(now, app.timezone):%Y-%m-%d}.tar.gz.age"
    with making(folder) as mine:
        if not mine or path.exists():
            return None
        create(app, path, now)
        pruned(folder, app.settings.backups_kept)
    log.info("backup written: %s", path)
    return path


@contextmanager
def making(folder: Path) -> Iterator[bool]:
    """Whether this process holds the folder's backup lock, for the block; a process that
    dies lets go of it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = os.open(folder / ".backup.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False  # another process is making it now
            return
        yield True
    finally:
        os.close(handle)


def pruned(folder: Path, kept: int) -> list[Path]:
    """All but the newest `kept` daily backups removed (their names sort by day)."""
    old = sorted(folder.glob(PATTERN))[:-kept]
    for path in old:
        path.unlink(missing_ok=True)
    return old
