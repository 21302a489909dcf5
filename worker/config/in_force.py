"""The configuration in force: the partnership's directory and escalation rules, last good.

One `Config` per process (on `App`) is what worker, web and CLI alike read. It goes back to
its source only when the source says something changed (a new fingerprint), and asks at most
once every `max_age` seconds (the application: once a second), so a busy web server does not
query for each request; a version saved by this process is seen by it at once. Something
broken found there is reported once, logged, and the last good version of that part stays in
force: nobody's digest stops over a typing mistake. Only a process that has never read a good
version raises `ConfigError`.

Settings are not here: they say where the database and the relay are, are read once when a
process starts (`App.settings`), and a change to them takes a restart.

The source is anything with `fingerprints` and `read_*`: `Versions`, the versions kept in
the database (worker/config/versions.py), which the application uses; and `Files`, the YAML files in
`config/`, which `Versions` falls back on for a part that has no version yet (a database not
yet initialised) and which `reminders config check` reads.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from worker.config import versions
from worker.directory.entries import Directory, load_directory
from worker.models import ConfigVersion
from worker.rules.ladder import Rules, load_rules
from worker.yaml_files import ConfigError

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where the directory and rules come from."""

    def fingerprints(self) -> tuple[Hashable, Hashable]:
        """Cheap stamps of the directory and of the rules: equal means unchanged."""

    def read_directory(self) -> Directory: ...

    def read_rules(self, known_groups: Collection[str] | None) -> Rules: ...


@dataclass(frozen=True)
class Files:
    """`directory.yaml` and `escalation.yaml` in one folder."""

    folder: Path

    @property
    def directory_path(self) -> Path:
        return self.folder / "directory.yaml"

    @property
    def rules_path(self) -> Path:
        return self.folder / "escalation.yaml"

    def fingerprints(self) -> tuple[Hashable, Hashable]:
        return digest(self.directory_path), digest(self.rules_path)

    def read_directory(self) -> Directory:
        return load_directory(self.directory_path)

    def read_rules(self, known_groups: Collection[str] | None) -> Rules:
        return load_rules(self.rules_path, known_groups=known_groups)


@dataclass
class Versions:
    """The newest version of each part in the database; the files until a part has one."""

    sessions: sessionmaker[Session]
    files: Files
    _has_table: bool = field(default=False, compare=False)

    def fingerprints(self) -> tuple[Hashable, Hashable]:
        with self.sessions() as session:
            ids = versions.newest_ids(session) if self.ready(session) else {}
        if len(ids) == len(versions.KINDS):
            return ("version", ids[versions.DIRECTORY]), ("version", ids[versions.RULES])
        on_file = self.files.fingerprints()
        return (
            ("version", ids[versions.DIRECTORY]) if versions.DIRECTORY in ids else on_file[0],
            ("version", ids[versions.RULES]) if versions.RULES in ids else on_file[1],
        )

    def ready(self, session: Session) -> bool:
        """Whether the database has the versions table (it has once `reminders init` ran)."""
        if not self._has_table:
            self._has_table = inspect(session.connection()).has_table(ConfigVersion.__tablename__)
        return self._has_table

    def read_directory(self) -> Directory:
        with self.sessions() as session:
            row = versions.newest(session, versions.DIRECTORY) if self.ready(session) else None
        if row is None:
            return self.files.read_directory()
        return versions.parse_directory(row.content, versions.origin(row.kind, row.number))

    def read_rules(self, known_groups: Collection[str] | None) -> Rules:
        with self.sessions() as session:
            row = versions.newest(session, versions.RULES) if self.ready(session) else None
        if row is None:
            return self.files.read_rules(known_groups)
        where = versions.origin(row.kind, row.number)
        return versions.parse_rules(row.content, where, known_groups)


def digest(path: Path) -> Hashable:
    """The file's content hash; a file that cannot be read has none (and is read to say why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class Config:
    """The last good directory and rules of one `Source`, refreshed when it changes."""

    source: Source
    max_age: float = 0.0  # seconds between looks at the source's fingerprints
    _looked: tuple[float, int] | None = None  # when, and versions saved here by then
    _directory: Directory | None = None
    _rules: Rules | None = None
    _seen: tuple[Hashable, Hashable] | None = None
    _groups: frozenset[str] | None = None  # the directory's, as the rules were checked
    problems: dict[str, ConfigError] = field(default_factory=dict)

    def directory(self) -> Directory:
        """The directory in force; ConfigError only if no good version was ever read."""
        self.refresh()
        if self._directory is None:
            raise self.problems["directory"]
        return self._directory

    def rules(self) -> Rules:
        """The rules in force; ConfigError only if no good version was ever read."""
        self.refresh()
        if self._rules is None:
            raise self.problems["rules"]
        return self._rules

    def fingerprint(self) -> tuple[Hashable, Hashable] | None:
        """What is in force now, as a stamp: equal means the same directory and rules."""
        self.refresh()
        return self._seen

    def refresh(self) -> list[ConfigError]:
        """Read again what changed; keep the last good version of any part that is broken.
        The problems found are returned (and logged) when they are new."""
        if self.looked_lately():
            return []
        seen = self.source.fingerprints()
        if seen == self._seen:
            return []
        before = self._seen or (object(), object())
        self._seen = seen
        found: list[ConfigError] = []
        if seen[0] != before[0]:
            found += self._read("directory", self._read_directory)
        groups = frozenset(self._directory.groups) if self._directory else None
        if seen[1] != before[1] or groups != self._groups:
            self._groups = groups
            found += self._read("rules", lambda: self._read_rules(groups))
        for problem in found:
            log.error("configuration refused, the last good version stays in force: %s", problem)
        return found

    def looked_lately(self) -> bool:
        """Whether the source was asked less than `max_age` ago, with no version saved here
        since; if not, now counts as the last look."""
        now, saved = time.monotonic(), versions.SavedHere.count
        if self._looked and saved == self._looked[1] and now - self._looked[0] < self.max_age:
            return True
        self._looked = (now, saved)
        return False

    def _read_directory(self) -> None:
        self._directory = self.source.read_directory()

    def _read_rules(self, groups: frozenset[str] | None) -> None:
        self._rules = self.source.read_rules(groups)

    def _read(self, part: str, read: Callable[[], None]) -> list[ConfigError]:
        try:
            read()
        except ConfigError as exc:
            self.problems[part] = exc
            return [exc]
        self.problems.pop(part, None)
        return []
