"""The console's directory page: who holds which role, someone leaving, refused addresses.

    GET  /console/directory           the directory in force, and the addresses the relay
                                      refused for good with the digests held for them
    POST /console/directory/replace   someone leaves: every role to a successor (manager)
    POST /console/directory/correct   a refused address corrected (manager)
    POST /console/directory/cover     someone away: a delegate between two dates (manager)
    GET, POST /console/directory/edit the directory's text, edited whole (manager)
    POST /console/directory/held      everything held about one address, downloaded as the
                                      archive `reminders person export` writes (manager)

Both changes go through the same functions as `reminders directory replace` and `reminders
directory correct` (worker/config/changes.py): a new directory version with who, when, why
and from where, and a console action, in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.config import changes
from worker.config.changes import correct_address, hand_over
from worker.config.versions import (
    DIRECTORY,
    Author,
    newest,
    numbered,
    save,
    text_in_force,
)
from worker.console.acts import keep
from worker.directory.recipients import Person
from worker.directory.undeliverable import marked
from worker.models import Delivery, DeliveryState, UndeliverableAddress
from worker.privacy.subject_access import export
from worker.web.context import Web, page, web_of
from worker.web.guard import Visitor, forbidden, form_of, visiting
from worker.web.http import disposition
from worker.yaml_files import ConfigError

PAGE = "/console/directory"
ADDRESS = re.compile(r"[^@\s]{1,200}@[^@\s]{1,118}")


@dataclass(frozen=True)
class Refused:
    """An address the relay refused for good, as the page lists it."""

    address: str
    reply: str
    since: datetime
    held: int


async def directory(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    query = request.query_params
    done = {k: int(query[k]) for k in ("saved", "corrected")
            if query.get(k, "").isdigit() and len(query[k]) < 9}  # fmt: skip
    return await run_in_threadpool(show, web_of(request), who, done)


def show(web: Web, who: Visitor, done: dict[str, int] | None = None, error: str = "",
         status: int = 200, form: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The page; `done` names what was just changed (a version, a correction) by its id, so
    that the page says it from the record, never from the address."""
    done = done or {}
    with web.app.sessions() as session:
        found = refused(session)
        saved = numbered(session, DIRECTORY, done["saved"]) if "saved" in done else None
        corrected = session.get(UndeliverableAddress, done.get("corrected", 0))
    return page("console/directory.html", status, who=who, directory=web.app.directory(),
                refused=found, saved=saved, corrected=corrected, error=error,
                form=form or {})  # fmt: skip


def refused(session: Session) -> list[Refused]:
    """Each address marked undeliverable, with how many digests wait for it."""
    address = func.lower(Delivery.recipient)
    query = select(address, func.count()).where(Delivery.state == DeliveryState.HELD)
    held: dict[str, int] = {a: n for a, n in session.execute(query.group_by(address))}
    return [Refused(m.address, m.reply, m.created_at, held.get(m.address, 0))
            for m in marked(session).values()]  # fmt: skip


async def replace(request: Request) -> Response:
    """Someone leaves: their roles to a successor."""
    form = await form_of(request)
    leaving, successor = form.get("leaving", "").strip(), form.get("successor", "").strip()
    name = form.get("name", "").strip()

    def change(session: Session, author: Author, web: Web, now: datetime) -> str:
        folder = web.app.settings.config_dir
        row = hand_over(session, leaving, successor, name, author, folder, now)
        return f"saved={row.number}"

    return await changing(request, form, ("leaving", "successor", "name"), "someone leaves",
                          f"{leaving} → {successor}", change)  # fmt: skip


async def correct(request: Request) -> Response:
    """A refused address corrected, or the same one once its mailbox is mended."""
    form = await form_of(request)
    address, corrected = form.get("address", "").strip(), form.get("corrected", "").strip()

    def change(session: Session, author: Author, web: Web, now: datetime) -> str:
        folder = web.app.settings.config_dir
        mark = marked(session).get(address.lower())
        if mark is None:
            raise ConfigError(Path(address), [f"{address} is not marked undeliverable"])
        correct_address(session, address, corrected, author, folder, now)
        return f"corrected={mark.id}"

    return await changing(request, form, ("address", "corrected"), "address corrected",
                          f"{address} → {corrected}", change)  # fmt: skip


async def cover(request: Request) -> Response:
    """Someone away: a delegate receives their digests and acts for them, between dates."""
    form = await form_of(request)
    away, email = form.get("away", "").strip(), form.get("delegate", "").strip()
    name = form.get("delegate_name", "").strip()

    def change(session: Session, author: Author, web: Web, now: datetime) -> str:
        starts, ends = (day(form.get(k, ""), k) for k in ("from", "to"))
        folder = web.app.settings.config_dir
        row = changes.cover(session, away, Person(name, email), starts, ends, author, folder)
        return f"saved={row.number}"

    return await changing(request, form, ("away", "delegate", "delegate_name", "from", "to"),
                          "cover", f"{email} for {away}", change)  # fmt: skip


async def held(request: Request) -> Response:
    """A subject access request answered: the archive of everything held about an address,
    its making kept in the console's record."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    form, web = await form_of(request), web_of(request)
    email = form.get("email", "").strip().lower()

    def made() -> Response:
        app = web.app
        if not ADDRESS.fullmatch(email):
            return show(web, who, error="Give the e-mail address of the person who asked.",
                        status=422, form=form)  # fmt: skip
        with app.sessions() as session, session.begin():
            archive = export(session, email, app.now())
            keep(session, who.doer(app), "subject access export", email)
        name = f"held-about-{email}.zip"
        return Response(archive.data, media_type="application/zip",
                        headers={"content-disposition": disposition(name),
                                 "cache-control": "no-store"})  # fmt: skip

    return await run_in_threadpool(made)


def day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(Path(field), [f"{field}: {value!r} is not a date"]) from None


async def edit(request: Request) -> Response:
    """The directory in force as its YAML text, to edit whole (the business manager)."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    web = web_of(request)

    def text_now() -> tuple[str, int]:
        with web.app.sessions() as session:
            text, _ = text_in_force(session, DIRECTORY, web.app.settings.config_dir)
            row = newest(session, DIRECTORY)
        return text, row.number if row else 0

    text, base = await run_in_threadpool(text_now)
    return page("console/directory_edit.html", who=who, text=text, problems=[], reason="",
                base=base)  # fmt: skip


async def save_edit(request: Request) -> Response:
    """The edited text saved as the next version, checked as `directory load` checks it;
    refused with every problem (key paths, YAML lines) and the text kept to mend."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    form = await form_of(request)
    text, reason = form.get("text", ""), form.get("reason", "").strip()[:500]
    base = int(form["base"]) if form.get("base", "").isdigit() and len(form["base"]) < 9 else 0
    web = web_of(request)

    def apply() -> Response:
        app = web.app
        if not reason:
            return page("console/directory_edit.html", 422, who=who, text=text, reason=reason,
                        base=base, problems=["say why the directory changes"])  # fmt: skip
        author = Author(who.person.email, reason, who.client.address or "console")
        try:
            with app.sessions() as session, session.begin():
                row = save(session, DIRECTORY, text, author, app.settings.config_dir, base)
                keep(session, who.doer(app),
                     "directory edited", f"directory version {row.number}")  # fmt: skip
                number = row.number
        except ConfigError as exc:
            return page("console/directory_edit.html", 422, who=who, text=text, reason=reason,
                        base=base, problems=exc.problems)  # fmt: skip
        app.follow_change()
        return RedirectResponse(f"{PAGE}?saved={number}", status_code=303)

    return await run_in_threadpool(apply)


Change = Callable[[Session, Author, Web, datetime], str]  # gives the page's query


async def changing(request: Request, form: dict[str, str], needed: tuple[str, ...],
                   action: str, subject: str, change: Change) -> Response:  # fmt: skip
    """One change by the business manager, with a reason, in one transaction with its
    console action; the page again with the reason it was refused, nothing changed."""
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    web, reason = web_of(request), form.get("reason", "").strip()[:500]

    def apply() -> Response:
        app = web.app
        if not reason or not all(form.get(k, "").strip() for k in needed):
            return show(web, who, error="Nothing changed: fill in every field, and say why.",
                        status=422, form=form)  # fmt: skip
        author = Author(who.person.email, reason, who.client.address or "console")
        try:
            with app.sessions() as session, session.begin():
                said = change(session, author, web, app.now())
                keep(session, who.doer(app), action,
                     subject)  # fmt: skip
        except ConfigError as exc:
            return show(web, who, error="Nothing changed: " + "; ".join(exc.problems),
                        status=422, form=form)  # fmt: skip
        app.follow_change()
        return RedirectResponse(f"{PAGE}?{said}", status_code=303)

    return await run_in_threadpool(apply)
