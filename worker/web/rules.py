"""The console's rules page: the escalation rules as a form, previewed before they are saved.

    GET  /console/rules   the rules in force as a form (the business manager and the chair);
                          ?audience=NAME adds a row for an audience an import's preview
                          found in no audience map, its group to choose
    POST /console/rules   do=preview: check the form, say what may be a mistake, and show
                          what it would do to the live items; do=save: save it (manager)

Saving takes a preview of exactly what is saved (the form carries its fingerprint) and the
version the form was opened on: if someone saved another version meanwhile, nothing is saved
and the form says so. A save is one transaction: the new version (worker/config/versions.py), the
live items re-applied when the business manager chose so, and the console action, all with
who, when, why and from where.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker import obligations
from worker.config.versions import (
    RULES,
    Author,
    check,
    newest,
    origin,
    parse_rules,
    save,
    text_in_force,
)
from worker.console.acts import keep
from worker.models import Obligation
from worker.obligations.preview import HORIZON, Preview, preview
from worker.rules.form import (
    UNIT_CHOICES,
    Form,
    RulesFields,
    by_field,
    fields_of,
    one,
    proposed_text,
)
from worker.rules.ladder import ROLE_NAMES
from worker.rules.warnings import rule_warnings
from worker.web.context import Web, page, web_of
from worker.web.guard import Visitor, forbidden, form_lists, visiting
from worker.yaml_files import ConfigError

MAX_FIELDS = 400


@dataclass
class Proposal:
    """What the page shows after a POST: the form as sent, and what was found in it."""

    fields: RulesFields
    base: int  # the version the form was opened on
    reason: str = ""
    reapply: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preview: Preview | None = None
    previewed: str = ""  # the fingerprint of what was previewed, for Save


async def rules(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    saved = request.query_params.get("saved", "")
    audience = request.query_params.get("audience", "").strip()[:200]  # an import's warning
    return await run_in_threadpool(show, web_of(request), who, saved if saved.isdigit() else "",
                                   audience)  # fmt: skip


def show(web: Web, who: Visitor, saved: str = "", audience: str = "") -> Response:
    """The form; `audience`, one no sheet's audience map has, in a row of its own, its
    group to choose (nothing is saved until the form is previewed and saved)."""
    with web.app.sessions() as session:
        text, _ = text_in_force(session, RULES, web.app.settings.config_dir)
        fields = fields_of(text)
        if audience and audience not in dict(fields.audiences):
            fields = replace(fields, audiences=(*fields.audiences, (audience, "")))
        proposal = Proposal(fields, base_number(session))
    return rules_page(web, who, proposal, saved=saved)


def rules_page(web: Web, who: Visitor, proposal: Proposal, status: int = 200,
               saved: str = "") -> Response:  # fmt: skip
    directory = web.app.directory()
    return page("console/rules.html", status, who=who, p=proposal, roles=ROLE_NAMES,
                units=UNIT_CHOICES, groups=directory.groups, saved=saved, horizon=HORIZON,
                ladder=web.app.rules().ladder())  # fmt: skip


def base_number(session: Session) -> int:
    row = newest(session, RULES)
    return row.number if row else 0


async def propose(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    form = await form_lists(request, MAX_FIELDS)
    return await run_in_threadpool(handle, web_of(request), who, form)


def handle(web: Web, who: Visitor, form: Form) -> Response:
    app, folder = web.app, web.app.settings.config_dir
    reapply = one(form, "applies") == "all"
    with app.sessions() as session:
        text_now, _ = text_in_force(session, RULES, folder)
        text = proposed_text(text_now, form)
        base, opened = base_number(session), one(form, "base")
        proposal = Proposal(fields_of(text), base, one(form, "reason")[:500], reapply)
        where = origin(RULES, base + 1)
        try:
            check(session, RULES, text, where, folder)
        except ConfigError as exc:
            proposal.errors, proposal.general = by_field(exc.problems, proposal.fields)
            return rules_page(web, who, proposal, 422)
        proposed = parse_rules(text, where, app.directory().groups)
        proposal.warnings = rule_warnings(proposed, app.directory())
        fingerprint = hashlib.sha256(f"{reapply}\n{text}".encode()).hexdigest()
        if opened != str(base):
            proposal.general = [
                f"Rules version {base} was saved after you opened this page. The form still "
                "holds every value you sent, which would undo its changes to the same fields: "
                f"compare it with version {base} (Versions), then preview again."
            ]
        elif one(form, "do") == "save" and one(form, "previewed") == fingerprint:
            if not proposal.reason:
                proposal.errors["reason"] = ["say why the rules change"]
            else:
                return saving(web, who, text, proposal)
        proposal.preview = preview(session, app.rules(), proposed, app.today(), reapply)
        proposal.previewed = fingerprint
    return rules_page(web, who, proposal)


def saving(web: Web, who: Visitor, text: str, proposal: Proposal) -> Response:
    """The version, the live items re-applied if chosen, and the console action: one
    transaction, or nothing."""
    app = web.app
    author = Author(who.person.email, proposal.reason, who.client.address or "console")
    try:
        with app.sessions() as session, session.begin():
            if proposal.reapply:  # live items change: no assessment may write over them
                obligations.take_turn(session)
            row = save(session, RULES, text, author, app.settings.config_dir, proposal.base)
            what = f"rules version {row.number}"
            if proposal.reapply:
                live = session.scalars(select(Obligation).where(Obligation.resolved_on.is_(None)))
                moved = obligations.reapply(session, live, f"{what} by {who.person.email}",
                                            app.now())  # fmt: skip
                what += f", re-applied to {moved} live item(s)"
            doer = who.doer(app)
            keep(session, doer, "rules saved", what)
            number = row.number
    except ConfigError as exc:
        proposal.general = ["Nothing saved: " + "; ".join(exc.problems)]
        return rules_page(web, who, proposal, 422)
    app.follow_change()
    return RedirectResponse(f"/console/rules?saved={number}", status_code=303)
