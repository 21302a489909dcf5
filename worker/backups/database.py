"""The database's part of a backup, taken and put back by each kind's own tools: SQLite's
online backup API (a consistent copy while the worker writes), `pg_dump` and `pg_restore`
(found on PATH, else beside `initdb`) for PostgreSQL. A password goes to them through the
environment, never on a command line another user could read."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, inspect

from worker.backups.errors import BackupError

SQLITE, POSTGRESQL = "database.sqlite", "database.pgdump"
MEMBERS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def member_for(engine: Engine) -> str:
    kind = engine.dialect.name
    if kind not in MEMBERS:
        raise BackupError(f"a {kind} database cannot be backed up (SQLite or PostgreSQL)")
    return MEMBERS[kind]


def dump(engine: Engine, folder: Path) -> Path:
    """The database copied into `folder`, as its member of the archive."""
    path = folder / member_for(engine)
    if path.name == SQLITE:
        copy_sqlite(sqlite_file(engine), path)
    else:
        postgres(engine, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                 f"--file={path}")  # fmt: skip
    return path


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def load(engine: Engine, path: Path) -> None:
    """The dumped database put in place of what `engine` holds (the caller has checked that
    it may be replaced)."""
    if member_for(engine) != path.name:
        kind = "SQLite" if path.name == SQLITE else "PostgreSQL"
        raise BackupError(f"this is a backup of a {kind} database; the settings name a "
                          f"{engine.dialect.name} one")  # fmt: skip
    engine.dispose()  # no pooled connection keeps the old content open
    if path.name == SQLITE:
        copy_sqlite(path, sqlite_file(engine))  # one step: all of it, or nothing
        return
    # One transaction: what the database held is dropped and the backup's put in its place
    # together, or, if pg_restore fails, nothing changes.
    postgres(engine, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", "--clean", "--if-exists", str(path))  # fmt: skip


def revision_in(path: Path) -> str | None:
    """The migration the dumped database at `path` records (its own `alembic_version`, read
    from the copy, not from a manifest); None when it records none or more than one."""
    if path.name == SQLITE:
        found = sqlite_versions(path)
    else:
        script = tool_output("pg_restore", "--data-only", "--table=alembic_version",
                             "--file=-", str(path))  # fmt: skip
        found = copied_rows(script, "alembic_version")
    return found[0] if len(found) == 1 else None


def sqlite_versions(path: Path) -> list[str]:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return []  # no such table: a database never initialised
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name}: not a SQLite database that can be read ({exc})") from exc
    return [str(row[0]) for row in rows]


def copied_rows(script: str, table: str) -> list[str]:
    """The rows of `table` in a plain SQL script's `COPY … FROM stdin` block."""
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY ") and f"{table} (" in line:
            return list(iter(lines.__next__, "\\."))
    return []


def sqlite_file(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(name)


def copy_sqlite(source: Path, target: Path) -> None:
    """The whole of `source` copied over `target` by SQLite itself, page by page, between
    the writes of anyone else (the online backup API)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing = sqlite3.connect(target)
    try:
        reading.backup(writing)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: not a SQLite database that can be read ({exc})") from exc
    finally:
        writing.close()
        reading.close()


def postgres(engine: Engine, tool: str, *args: str) -> None:
    """Run `tool` (pg_dump, pg_restore) on the database; BackupError with its own words."""
    url = engine.url.set(drivername="postgresql", password=None)
    env = os.environ | ({"PGPASSWORD": engine.url.password} if engine.url.password else {})
    command = [program(tool), f"--dbname={url.render_as_string(hide_password=False)}", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")


def tool_output(tool: str, *args: str) -> str:
    """What `tool` (one that needs no database) writes; BackupError with its own words."""
    done = subprocess.run([program(tool), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def program(tool: str) -> str:
    found = shutil.which(tool)
    if found is None and (initdb := shutil.which("initdb")) is not None:
        beside = Path(initdb).resolve().parent / tool
        found = str(beside) if beside.exists() else None
    if found is None:
        raise BackupError(f"{tool} is not on PATH: install PostgreSQL's client programs")
    return found
