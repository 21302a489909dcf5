"""Fresh databases for the benchmarks: a SQLite file, or a database in a throwaway cluster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from worker.app import App
from worker.models import Base
from worker.settings import load_settings

RESTART = (
    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
    "(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
)


@dataclass(frozen=True)
class Databases:
    folder: Path
    postgres: str  # URL of the cluster's `postgres` database

    def fresh(self, backend: str, name: str) -> str:
        """The URL of a new, empty database called `name`."""
        if backend == "sqlite":
            path = self.folder / f"{name}.db"
            path.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        server = make_url(self.postgres)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return server.set(database=name).render_as_string(hide_password=False)


def app_for(url: str) -> App:
    """The application on `url`, initialised (schema and the shipped directory)."""
    app = App(load_settings().model_copy(update={"database_url": url}))
    app.initialise()
    return app


def settle(app: App) -> None:
    """After bulk loading with explicit ids: move PostgreSQL's id sequences past them, and
    take fresh planner statistics, as autovacuum would in production."""
    with app.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                if "id" in table.c:
                    connection.execute(text(RESTART.format(table=table.name)))
        connection.execute(text("ANALYZE"))
