"""The change history: one row per field changed, by an import or by a person."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from worker.models import Change


def shown(value: Any) -> str | None:
    """How a value is written in the history."""
    if value is None:
        return None
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def record_change(
    session: Session,
    subject: str,
    key: str,
    field: str,
    old: Any,
    new: Any,
    source: str,
    at: datetime,
) -> None:
    session.add(Change(**change_row(subject, key, field, old, new, source, at)))


def change_row(
    subject: str, key: str, field: str, old: Any, new: Any, source: str, at: datetime
) -> dict[str, Any]:
    """One history row's values, as written one at a time or many in one statement."""
    return {
        "subject": subject,
        "subject_key": key,
        "field": field,
        "old_value": shown(old),
        "new_value": shown(new),
        "changed_at": at,
        "source": source,
    }
