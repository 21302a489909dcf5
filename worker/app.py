"""The pieces a command or a task needs, built once from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import parseaddr
from functools import cached_property
from zoneinfo import ZoneInfo

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker import obligations
from worker.config.in_force import Config, Files, Versions
from worker.config.versions import first_versions
from worker.db import alembic_config, make_engine, session_factory, transaction, upgrade
from worker.directory.entries import Directory, sync_directory
from worker.feeds.files import FeedFiles
from worker.feeds.public import Site, publish_sessions
from worker.importers import Importer, ImportOptions, column_map
from worker.importers.columns import Columns
from worker.rules.ladder import Rules
from worker.settings import Settings, load_settings
from worker.workdays import local_date
from worker.yaml_files import ConfigError

log = logging.getLogger(__name__)

CONFIG_CHECK_SECONDS = 1.0  # how often a process asks whether a new version was saved
SESSIONS, AGENCY = "sessions", "agency"  # the folders of the kept feeds


class NotInitialisedError(Exception):
    """The database is missing tables or is older than this version of the code."""


@dataclass
class App:
    settings: Settings = field(default_factory=load_settings)
    _config: Config | None = field(default=None, init=False, repr=False)
    _synced: Directory | None = field(default=None, init=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        # Every sending thread of a worker holds a connection at once at busy times.
        size = max(5, self.settings.send_concurrency + 1)
        return make_engine(self.settings.database_url, pool_size=size)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine, self.now, self.timezone)

    @cached_property
    def config_engine(self) -> Engine:
        """A small pool of its own for asking which configuration version is in force: a
        request that holds a connection of the main pool never waits on it for a second."""
        return make_engine(self.settings.database_url, pool_size=1, max_overflow=4)

    @cached_property
    def config_sessions(self) -> sessionmaker[Session]:
        return session_factory(self.config_engine, self.now)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def files(self) -> Files:
        return Files(self.settings.config_dir)

    @property
    def config(self) -> Config:
        """The directory and rules in force (last good): their newest versions in the
        database, or the files in `config_dir` for a part with none; made anew if it moves."""
        source = Versions(self.config_sessions, self.files)
        if self._config is None or self._config.source != source:
            self._config = Config(source, max_age=CONFIG_CHECK_SECONDS)
        return self._config

    def directory(self) -> Directory:
        """The directory in force; ConfigError only when no good version was ever read."""
        return self.config.directory()

    def rules(self) -> Rules:
        """The escalation rules in force; ConfigError only when no good version was read."""
        return self.config.rules()

    def now(self) -> datetime:
        """The one clock of the application: UTC, shifted by `clock_offset` (zero in use)."""
        return datetime.now(UTC) + self.settings.clock_offset

    def today(self) -> date:
        """Today's date where the partnership is."""
        return local_date(self.now(), self.timezone)

    def import_options(self, plan: str | None = None) -> ImportOptions:
        """How documents are read here: the directory's themes, the course-code shape, the
        headings the settings name and the column maps saved on the imports page."""
        with self.sessions() as session:
            saved = column_map.saved(session)
        return ImportOptions(
            self.directory().themes,
            self.settings.course_code_pattern,
            self.timezone,
            self.today(),
            plan,
            Columns.of(self.settings.column_names),
            limits=self.settings.document_limits,
            saved=saved,
        )

    def importer(
        self,
        by: str,
        plan: str | None = None,
        dry_run: bool = False,
        if_untitled: bool = False,
        columns: Columns | None = None,
        start_stage: int | None = None,
    ) -> Importer:
        """Imports documents as `by`, keeping each original in the imports folder; `plan`
        names every plan (or, `if_untitled`, those whose document has no title); `columns`,
        a column map, in place of the headings the settings name; `start_stage`, items
        already overdue start their ladder today, its first step entering that stage."""
        options = replace(self.import_options(plan), plan_if_untitled=if_untitled)
        options = replace(options, columns=columns) if columns is not None else options
        return Importer(self.sessions, options, self.now(), by, self.settings.imports_dir, dry_run,
                        start_stage=start_stage)  # fmt: skip

    def site(self) -> Site:
        """Whose feeds these are and where they are served."""
        return Site(
            label=self.partnership_label(),
            domain=self.settings.partnership_domain,
            base_url=self.settings.public_base_url.rstrip("/"),
            tz=self.timezone,
            organizer=parseaddr(self.settings.mail_from),
        )

    def feed_files(self, kind: str) -> FeedFiles:
        """Where feeds of `kind` ("sessions", "agency") are kept as files."""
        return FeedFiles(self.settings.feeds_dir / kind)

    def publish_feeds(self) -> bool:
        """Write the public sessions feed again if what it shows changed (after an import,
        and at every tick for any other change); True if it did."""
        return publish_sessions(self.sessions, self.site(), self.feed_files(SESSIONS))

    def follow_change(self) -> bool:
        """After an import or a new version of the directory or rules, committed: the
        directory's tables, the obligations (`obligations.bring_up_to_date`: assessed as the
        daily run would) and the sessions feed as they now stand, so that every screen shows
        where items stand. Best effort: what fails is logged and caught up by the next tick's
        plan or feed (the change itself is kept); False then."""
        try:
            self.sync_directory()
            rules = self.rules()
            with transaction(self.sessions) as session:
                obligations.bring_up_to_date(session, rules, self.timezone, self.today())
            self.publish_feeds()
        except (SQLAlchemyError, OSError, ConfigError):
            log.exception("what the change moves will be worked out at the next daily run")
            return False
        return True

    def partnership_label(self) -> str:
        partnership = self.directory().partnership
        return partnership.short_name or partnership.name

    def initialise(self) -> None:
        """Create or upgrade the schema; the files in `config_dir` become version 1 of the
        directory and rules if they have none; then load the directory into the tables."""
        upgrade(self.engine)
        with transaction(self.sessions) as session:
            first_versions(session, self.settings.config_dir, "reminders init")
        self.sync_directory()

    def sync_directory(self) -> None:
        """Bring the database's agencies, people and establishments in line with the
        directory in force, unless this process already did for this version."""
        directory = self.directory()
        if directory is self._synced:
            return
        with transaction(self.sessions) as session:
            sync_directory(session, directory)
        self._synced = directory

    def close(self) -> None:
        """Release database connections, if any were opened."""
        for engine in ("engine", "config_engine"):
            if engine in self.__dict__:
                self.__dict__[engine].dispose()

    def check_schema(self) -> None:
        head = ScriptDirectory.from_config(alembic_config(self.engine)).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current != head:
            raise NotInitialisedError(
                "the database is not initialised or is older than this version: "
                "run `reminders init`"
            )
