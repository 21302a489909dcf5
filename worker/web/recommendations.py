"""The console's recommendations page: each review's recommendations, and the CAP actions
that answer them (the business manager links them; the chair sees them).

    GET  /console/recommendations              every recommendation, answered or not, with
                                               the actions whose SCR Ref names the case
    POST /console/recommendations/{id}/link    an action answers it: a suggested one, or
                                               any by its plan and ref (manager)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker import obligations
from worker.console.acts import keep
from worker.models import Action, Plan, Recommendation
from worker.obligations.recommendations import link, standings
from worker.web.context import Web, page, web_of
from worker.web.guard import Visitor, forbidden, form_of, visiting

PAGE = "/console/recommendations"


async def recommendations(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    linked = request.query_params.get("linked", "")
    return await run_in_threadpool(show, web_of(request), who, linked)


def show(web: Web, who: Visitor, linked: str = "", error: str = "", status: int = 200,
         failed: str = "") -> Response:  # fmt: skip
    """The page; after a refused link, `error` says why and `failed` names the
    recommendation whose form it was."""
    with web.app.sessions() as session:
        found = standings(session)
        plans = list(session.scalars(select(Plan.title).order_by(Plan.title)))
        done = next((s.recommendation for s in found if str(s.recommendation.id) == linked), None)
        return page("console/recommendations.html", status, who=who, standings=found,
                    plans=plans, done=done, error=error, failed=failed,
                    days=web.app.rules().recommendation_action_days)  # fmt: skip


async def link_action(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.manager:
        return forbidden()
    form = await form_of(request)
    number = request.path_params.get("id", "")
    web = web_of(request)

    def apply() -> Response:
        app = web.app
        with app.sessions() as session:  # committed below, else rolled back on closing
            obligations.take_turn(session)  # its item is completed: no assessment overwrites it
            row = session.get(Recommendation, int(number)) if number.isdigit() else None
            action = chosen(session, form)
            if row is None or action is None:
                return show(web, who, error="Nothing linked: choose an action that exists "
                            "(its plan, and its ref such as 4.6).", status=422,
                            failed=number if number.isdigit() else "")  # fmt: skip
            link(session, row, action, who.person.email, app.now(), app.today())
            keep(session, who.doer(app),
                 "recommendation linked",
                 f"{row.review} recommendation {row.number} → {action.ref}")  # fmt: skip
            obligations.bring_up_to_date(session, app.rules(), app.timezone, app.today())
            session.commit()
            linked = row.id
        return RedirectResponse(f"{PAGE}?linked={linked}#r{linked}", status_code=303)

    return await run_in_threadpool(apply)


def chosen(session: Session, form: dict[str, str]) -> Action | None:
    """The action a form names: by its id (a suggestion), or by plan and ref."""
    picked = form.get("action", "")
    if picked.isdigit() and len(picked) < 10:
        return session.get(Action, int(picked))
    query = (
        select(Action)
        .join(Plan)
        .where(
            Plan.title == form.get("plan", "").strip(), Action.ref == form.get("ref", "").strip()
        )
    )
    return session.scalar(query)
