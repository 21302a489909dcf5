"""The import history: who imported which document when, and what it did, with the original
kept byte for byte under its SHA-256 (owner-only, never run or shown, only downloaded). A
document uploaded only for a preview is kept while its preview may be confirmed, then
removed (`forget_previews`)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from worker.importers.text import one_line
from worker.models import Base, ImportRecord

if TYPE_CHECKING:
    from worker.importers import ImportResult

SHA256 = re.compile(r"[0-9a-f]{64}")


def keep_original(folder: Path, data: bytes) -> Path:
    """The document's bytes in `folder` under their SHA-256, written once, atomically, with
    the folder 0700 and the file 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / hashlib.sha256(data).hexdigest()
    if path.exists():
        os.utime(path)  # uploaded again: its preview's life starts again
        return path
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def original(folder: Path, sha256: str) -> Path | None:
    """The kept original with this SHA-256, if it is there."""
    if not SHA256.fullmatch(sha256):
        return None
    path = folder / sha256
    return path if path.is_file() else None


def imported_originals(session: Session) -> set[str]:
    """The SHA-256 names of the kept documents some import names (the others were uploaded
    only for a preview)."""
    return set(session.scalars(select(ImportRecord.sha256)))


def forget_previews(session: Session, folder: Path, before: datetime) -> list[Path]:
    """The kept documents no import names, last uploaded before `before` (a preview lives no
    longer than the console session that made it): uploaded only for a preview that is over,
    removed. Their paths."""
    old = [p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < before.timestamp()
           ] if folder.is_dir() else []  # fmt: skip
    named = select(ImportRecord.sha256).where(ImportRecord.sha256.in_([p.name for p in old]))
    imported = set(session.scalars(named)) if old else set()
    gone = [p for p in old if p.name not in imported]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def summary(result: ImportResult) -> str:
    """What the document did, in the words the command line prints."""
    if result.error is not None:
        return f"refused: {result.error}"
    return "; ".join(o.described() for o in result.outcomes)


def record_import(session: Session, result: ImportResult, by: str, now: datetime) -> int:
    """The import's line in the history (one statement on the table itself); its id."""
    [record_id] = record_imports(session, [result], by, now)
    return record_id


def record_imports(
    session: Session, results: Sequence[ImportResult], by: str, now: datetime
) -> list[int]:
    """The imports' lines in the history, in one statement; their ids, in order."""
    table = Base.metadata.tables[ImportRecord.__tablename__]
    who = one_line(by)[:320]
    rows = [{"at": now, "by": who, "file_name": display_name(result.name),
             "sha256": result.sha256, "size": result.size, "kind": result.kind or "refused",
             "summary": summary(result), "refused": result.error is not None}
            for result in results]  # fmt: skip
    returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(id_) for id_ in session.execute(returning, rows).scalars()]


def display_name(name: str) -> str:
    """The file's own name, without the folders it was read from: what a download is called."""
    return one_line(Path(name.replace("\\", "/")).name)[:300] or "document"
