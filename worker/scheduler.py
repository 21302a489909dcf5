"""The tick: plan the current period once, then queue what needs sending.

Tasks are queued only after the transaction that wrote their rows has committed, and take
ids, never objects. The business manager's files are read again at every tick; a broken
edit is reported and the last good version stays in force, so the worker never stops (or
crash-loops) over a typing mistake in `escalation.yaml` or `directory.yaml`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from worker.app import App
from worker.db import transaction
from worker.delivery import mark_enqueued, needing_a_push
from worker.directory import Directory, sync_directory
from worker.links import digest_links
from worker.planning import plan, send_period
from worker.rules import Rules, RulesError, load_rules
from worker.settings import ConfigError

log = logging.getLogger(__name__)


@dataclass
class LastGood:
    """The configuration files as last read without error."""

    rules: Rules | None = None
    directory: Directory | None = None

    def refresh(self, app: App) -> list[str]:
        """Read both files again; keep the previous version of any that is broken."""
        problems: list[str] = []
        try:
            self.load_directory(app)
        except ConfigError as exc:
            problems.append(str(exc))
        groups = self.directory.groups if self.directory else None
        try:
            self.rules = load_rules(app.rules_path, known_groups=groups)
        except (RulesError, ConfigError) as exc:
            problems.append(str(exc))
        for problem in problems:
            log.error("configuration refused, the last good version stays in force: %s", problem)
        return problems

    def load_directory(self, app: App) -> None:
        directory = app.directory()
        if directory != self.directory:
            with transaction(app.sessions) as session:
                sync_directory(session, directory)
            self.directory = directory

    @property
    def label(self) -> str:
        partnership = self.directory.partnership if self.directory else None
        return (partnership.short_name or partnership.name) if partnership else "Partnership"


def run_tick(
    app: App, config: LastGood, now: datetime, enqueue: Callable[[int], object]
) -> list[int]:
    config.refresh(app)
    if config.rules is None:
        raise ConfigError(app.rules_path, ["no valid escalation rules have been read yet"])
    period = send_period(now, config.rules, app.timezone)
    if period is not None:
        plan_once(app, config.rules, period, config.label)
    with transaction(app.sessions) as session:
        ids = needing_a_push(session, now, app.settings.requeue_after_seconds)
        mark_enqueued(session, ids, now)
    for delivery_id in ids:
        enqueue(delivery_id)
    return ids


def plan_once(app: App, rules: Rules, period: date, label: str) -> list[int]:
    """Plan `period` unless it already is (by us earlier, or by another beat right now)."""
    links = digest_links(app.settings, app.now())
    try:
        with transaction(app.sessions) as session:
            return plan(session, rules, app.timezone, period, label, links)
    except IntegrityError:
        return []
