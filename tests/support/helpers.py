"""Small helpers shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from worker.app import SESSIONS, App
from worker.cli import listing
from worker.importers import ImportOptions, ImportResult, import_files

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TODAY = NOW.date()  # the import day: placeholder dates are judged against it


def options(app: App, plan: str | None = None) -> ImportOptions:
    return app.import_options(plan)


def run_import(app: App, *paths: Path, plan: str | None = None) -> list[ImportResult]:
    return import_files(list(paths), app.sessions, options(app, plan), NOW)


def records(app: App, what: str) -> list[dict[str, Any]]:
    with app.sessions() as session:
        return fetch(session, app, what)


def fetch(session: Session, app: App, what: str) -> list[dict[str, Any]]:
    if what == "actions":
        return listing.actions(session)
    if what == "mi-sheets":
        return listing.mi_sheets(session, app.timezone)
    return listing.sessions(session, app.timezone)


def by_key(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def kept_keys(app: App) -> list[str]:
    """The sessions feeds kept in the generation being served."""
    files = app.feed_files(SESSIONS)
    return sorted(p.stem for p in (files.folder / (files.current() or "")).glob("*.ics"))


def kept_body(app: App, key: str) -> bytes:
    """The bytes of a kept sessions feed, as the web server would send them."""
    kept = app.feed_files(SESSIONS).find(key)
    assert kept is not None, key
    with kept.file as file:
        return file.read()
