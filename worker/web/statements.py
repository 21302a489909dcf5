"""The accessibility statement (/accessibility) and the privacy notice (/privacy): public,
GET only, linked from every page's footer.

The statement follows the model the Public Sector Bodies Accessibility Regulations 2018 ask
for; its variable parts (status, known issues, contact, last test) are the operator's settings.
The notice reads what is kept and for how long from the data map (`worker.privacy.classes`)
and the retention schedule in the rules in force, so it never says a period by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.privacy.classes import CLASSES, TABLES
from worker.rules.ladder import Destroyable
from worker.web.context import Web, page, web_of

# What each period is counted from (worker/privacy/retention.py, which applies them).
COUNTED_FROM = {
    "plans": "a closed action's last change",
    "mi_sheets": "the sheet's deadline (its publication without one)",
    "sessions": "the session's day",
    "stage_history": "the day of the stage change",
    "digests": "the digest's sending",
    "sign_in": "a link's making or a session's last use",
    "console_actions": "the day of the action",
    "imports": "the import",
}


@dataclass(frozen=True)
class Kept:
    """One record class as the privacy notice shows it."""

    records: str
    personal: str
    period: str


async def accessibility(request: Request) -> Response:
    web = web_of(request)
    settings = web.app.settings
    statement = settings.accessibility
    return page("accessibility.html", statement=statement,
                run_by=statement.run_by or settings.privacy.controller,
                base_url=settings.public_base_url)  # fmt: skip


async def privacy(request: Request) -> Response:
    web = web_of(request)
    return await run_in_threadpool(privacy_page, web)


def privacy_page(web: Web) -> Response:
    settings = web.app.settings
    return page("privacy.html", notice=settings.privacy, kept=kept(web),
                backups_kept=settings.backups_kept)  # fmt: skip


def kept(web: Web) -> list[Kept]:
    """Every record class: what it holds about people, and its period from the rules."""
    months: dict[str, int] = {str(k): n for k, n in web.app.rules().retention.months.items()}
    return [
        Kept(
            sentence(c.records),
            sentence(personal_in(c.name)),
            sentence(period(c.name, months.get(c.name), c.suggested)),
        )
        for c in CLASSES.values()
    ]


def sentence(text: str) -> str:
    """`text` with a capital first letter, the rest as written ("MI sheets", "DSLs")."""
    return text[:1].upper() + text[1:]


def personal_in(record_class: str) -> str:
    held = [h.personal for h in TABLES.values() if h.record_class == record_class and h.personal]
    return "; ".join(held) or "nothing about people"


def period(record_class: str, months: int | None, suggested: str) -> str:
    if months is not None:
        after = COUNTED_FROM.get(record_class, "its date")
        return f"{months} month{'s' if months != 1 else ''} after {after}"
    if record_class == "backups":
        return "the newest backups only (see below)"
    if record_class in get_args(Destroyable):
        return f"kept until the partnership sets a period (commonly {suggested})"
    return f"while the service runs (commonly {suggested})"
