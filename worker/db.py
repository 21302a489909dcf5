"""Database engine, sessions and migrations (Alembic, run from code)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, false, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **pool: int) -> Engine:
    """An engine for `url` (`pool`: pool_size, max_overflow); SQLite gets foreign keys and a
    folder for its file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **pool)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine, clock: Callable[[], datetime],
                    tz: tzinfo | None = None) -> sessionmaker[Session]:  # fmt: skip
    """Sessions that stamp new rows' times from `clock` (the application's, `App.now`), and
    know the partnership's time zone `tz` (for the moment an assessment is made at)."""
    return sessionmaker(engine, expire_on_commit=False, info={"clock": clock, "tz": tz})


# The columns that say when a row was made; filled from the session's clock when left empty.
STAMPS = ("created_at", "updated_at", "imported_at", "changed_at", "recorded_at",
          "planned_at", "used_at", "ran_at")  # fmt: skip


def clock_of(session: Session) -> datetime:
    """The time now by the application's clock this session was made with."""
    clock = session.info.get("clock")
    if clock is None:
        raise RuntimeError("this session has no clock: make it with worker.db.session_factory")
    now: datetime = clock()
    return now


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    """Give new rows their times from the application's clock, never the machine's."""
    unstamped = [row for row in session.new if any(
        hasattr(row, name) and getattr(row, name) is None for name in STAMPS)]  # fmt: skip
    if not unstamped:
        return
    now = clock_of(session)
    for row in unstamped:
        for name in (n for n in STAMPS if hasattr(row, n) and getattr(row, n) is None):
            setattr(row, name, now)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed if the block succeeds, rolled back whole if not."""
    with factory() as session, session.begin():
        yield session


def begin_writing(session: Session) -> None:
    """Begin `session`'s transaction as a writer whose savepoints nest inside it. SQLite:
    BEGIN IMMEDIATE, taking its one write lock now; left to itself, pysqlite begins only
    before the first INSERT, UPDATE or DELETE, so a SAVEPOINT before one would begin a
    transaction of its own, which its RELEASE commits. PostgreSQL: nothing to do."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def one_at_a_time(session: Session, key: int, model: type[Any]) -> None:
    """Transactions that call this with the same `key` wait for each other until they end,
    and each then reads what the one before wrote. PostgreSQL: an advisory lock; SQLite: its
    one writer, taken now with an update of `model`'s table that changes nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(update(model).where(false()).values(id=0))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create the schema, or bring an existing database up to the latest revision."""
    command.upgrade(alembic_config(engine), "head")
