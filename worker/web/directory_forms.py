"""The directory's forms in the console: one entry at a time, previewed, then saved.

    GET  /console/directory/forms/<form>  the form, filled from the address's query (the
                                          fixes an import's warnings link to); nothing
                                          changes on a GET (the business manager)
    POST /console/directory/forms/<form>  do=preview: check it, each problem beside its
                                          field, and show what it would do to the open
                                          items; do=save: save what was previewed as the
                                          next directory version, with who and why

The forms are: alias (a name documents give an agency), role (the person in a role of an
agency), la-contact, establishment (worker/config/directory_forms.py). Saving takes the
fingerprint of exactly what was previewed and the version the form was opened on, as the
rules page does: if another version was saved meanwhile, nothing is saved and it says so.
The version and the console action are one transaction; then the tables and the items
follow at once (`app.follow_change`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.config.directory_forms import FORMS, EntryForm, Proposed, Values, one, propose
from worker.config.directory_preview import Effect, effect
from worker.config.versions import DIRECTORY, Author, newest, origin, parse_directory, save
from worker.console.acts import keep
from worker.directory.edits import AGENCY_ROLES
from worker.web.context import Web, page, web_of
from worker.web.guard import Visitor, forbidden, form_lists, visiting
from worker.yaml_files import ConfigError

MAX_FIELDS = 40


@dataclass
class Shown:
    """What the form's page shows: the values as sent, what was found in them, and the
    preview of what saving would do."""

    form: EntryForm
    values: Values
    base: int  # the version the form was opened on
    reason: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    effect: Effect | None = None
    previewed: str = ""  # the fingerprint of what was previewed, for Save


async def entry_form(request: Request) -> Response:
    who = await visiting(request)
    form = FORMS.get(request.path_params["form"])
    if not who.person.manager or form is None:
        return forbidden() if form else Response("No such form", status_code=404)
    query = request.query_params
    values = {name: query.getlist(name)[:20] for name in form.fields if name in query}
    web = web_of(request)

    def show() -> Response:
        with web.app.sessions() as session:
            return form_page(web, who, Shown(form, values, base_number(session)))

    return await run_in_threadpool(show)


def form_page(web: Web, who: Visitor, shown: Shown, status: int = 200) -> Response:
    return page("console/directory_form.html", status, who=who, s=shown, one=one,
                directory=web.app.directory(), roles=AGENCY_ROLES)  # fmt: skip


def base_number(session: Session) -> int:
    row = newest(session, DIRECTORY)
    return row.number if row else 0


async def entry_post(request: Request) -> Response:
    who = await visiting(request)
    form = FORMS.get(request.path_params["form"])
    if not who.person.manager or form is None:
        return forbidden() if form else Response("No such form", status_code=404)
    values = await form_lists(request, MAX_FIELDS)
    return await run_in_threadpool(handle, web_of(request), who, form, values)


def handle(web: Web, who: Visitor, form: EntryForm, values: Values) -> Response:
    """Checked, then previewed; saved when Save was pressed on this very preview."""
    app = web.app
    with app.sessions() as session:
        base = base_number(session)
        shown = Shown(form, values, base, one(values, "reason")[:500])
        proposed = propose(session, form, values, app.settings.config_dir, base + 1)
        if proposed.refused:
            shown.errors, shown.general = proposed.errors, proposed.general
            return form_page(web, who, shown, 422)
        fingerprint = hashlib.sha256(proposed.text.encode()).hexdigest()
        if one(values, "base") != str(base):
            shown.general = [f"Directory version {base} was saved after you opened this form: "
                             "look at what this change does now, then save."]  # fmt: skip
        elif one(values, "do") == "save" and one(values, "previewed") == fingerprint:
            if shown.reason:
                return saving(web, who, proposed, shown)
            shown.errors["reason"] = ["say why the directory changes"]
        shown.effect = previewed(session, web, proposed)
        shown.previewed = fingerprint
    return form_page(web, who, shown, 422 if shown.errors else 200)


def previewed(session: Session, web: Web, proposed: Proposed) -> Effect:
    """What saving would do to the open items, worked out and rolled back."""
    app = web.app
    try:
        return effect(session, app.directory(), parse_directory(proposed.text, origin(DIRECTORY,
                      "proposed")), app.rules(), app.timezone, app.today())  # fmt: skip
    finally:
        session.rollback()


def saving(web: Web, who: Visitor, proposed: Proposed, shown: Shown) -> Response:
    """The version and the console action, in one transaction, or nothing."""
    app, form = web.app, shown.form
    said = form.says(shown.values)
    author = Author(who.person.email, f"{said}: {shown.reason}", who.client.address or "console")
    try:
        with app.sessions() as session, session.begin():
            row = save(session, DIRECTORY, proposed.text, author, app.settings.config_dir,
                       shown.base)  # fmt: skip
            keep(session, who.doer(app), "directory entry", f"directory version {row.number}: "
                 f"{said}")  # fmt: skip
            number = row.number
    except ConfigError as exc:
        shown.general = ["Nothing saved: " + "; ".join(exc.problems)]
        return form_page(web, who, shown, 422)
    app.follow_change()
    return RedirectResponse(f"/console/directory?saved={number}", status_code=303)
