"""The console's pages. Each asks `visitor` who is there, and checks on the server what their
role lets them see and do (worker/console/people.py); GETs read, POSTs act.

    /console/                   overview (business manager, chair) or my items (everyone else)
    /console/mine               the items I am told about, worst first
    /console/items[.csv]        every item I may see: filters, sort, pages; CSV of the view
    /console/items/{id}         one item: details, why, deliveries, events, actions
    /console/items/key/{key}    the same, named by its key (the digests link here)
    /console/items/{id}/{act}   POST: acknowledge, note, complete, retarget, reassign
    /console/deliveries         the delivery log; POST …/{id}/resend (business manager)
    /console/calendars          feed addresses; POST …/{agency}/rotate|revoke (business manager)
    /console/people             live sessions; POST …/end (business manager)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from time import monotonic

from markupsafe import Markup
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker import obligations
from worker.console import records
from worker.console.acts import NOTE_LIMIT, ForbiddenError, act, keep
from worker.console.acts import Request as Asked
from worker.console.chart import status_chart
from worker.console.items import (
    CSV_HEADER,
    PAGE_SIZE,
    SORTS,
    STATUSES,
    UNASSIGNED,
    Choices,
    Filters,
    choices,
    csv_rows,
    lines,
    with_pauses,
)
from worker.console.kept import Kept
from worker.console.overview import overview, revision
from worker.console.people import REASSIGN, Person
from worker.delivery import jobs
from worker.delivery import ledger as delivery
from worker.feeds.agency import feed_of, issue_token, revoke
from worker.mail import preferences
from worker.mail.preferences import wants_daily
from worker.models import Agency, DeliveryState, Obligation
from worker.obligations import EventRefusedError, officer_stage, stream
from worker.reports.csv_files import csv_text
from worker.rules.ladder import Ladder
from worker.signin import sessions
from worker.templating import render_html_part
from worker.web.context import Web, page, problem, reading, web_of
from worker.web.guard import RefusedError, Visitor, forbidden, form_of, visiting, visitor


def ladder_of(web: Web) -> Ladder:
    return web.app.rules().ladder()


async def home(request: Request) -> Response:
    return await run_in_threadpool(home_page, web_of(request), request)


def home_page(web: Web, request: Request) -> Response:
    """Who is there and their page, in one trip to a worker thread (as `items_view`)."""
    who = visitor(web, request)
    return overview_page(web, who) if who.person.sees_everything else mine_page(web, who)


def overview_page(web: Web, who: Visitor) -> Response:
    ladder, today = ladder_of(web), web.app.today()
    kept = figures(web, today, ladder)
    as_of = web.app.now() - timedelta(seconds=monotonic() - kept.at)
    with reading(web.app) as session:
        service = jobs.status(session)  # every time: it moves with each tick
    return page("console/overview.html", who=who, figures=kept.value, today=today,
                as_of=clock(web, as_of), service=service, tz=web.app.timezone)  # fmt: skip


def clock(web: Web, moment: datetime) -> str:
    """A time of day as the partnership reads it: 09:05."""
    return moment.astimezone(web.app.timezone).strftime("%H:%M")


def figures(web: Web, today: date, ladder: Ladder) -> Kept[Markup]:
    """The overview's figures, chart and lists, as HTML: this process's last ones while
    fresh, else worked out and rendered anew (the same for everyone who sees them)."""

    def work_out() -> Markup:
        found = overview(session, web.app.directory(), today, ladder.top, web.app.timezone,
                         web.app.rules())  # fmt: skip
        chart = status_chart(found.themes, "Items by theme and status")
        return render_html_part("web/console/overview_figures.html", found=found, chart=chart,
                                ladder=ladder, statuses=STATUSES)  # fmt: skip

    with reading(web.app) as session:
        key = (today, ladder.top, web.app.config.fingerprint(), *revision(session))
        return web.overview.get(key, work_out)


async def mine(request: Request) -> Response:
    who = await visiting(request)
    saved = request.query_params.get("saved") == "1"
    return await run_in_threadpool(mine_page, web_of(request), who, saved)


def mine_page(web: Web, who: Visitor, saved: bool = False) -> Response:
    ladder = ladder_of(web)
    open_ = Obligation.resolved_on.is_(None)
    with reading(web.app) as session:
        scope = who.person.told(officer_stage(session, ladder))
        found, total = lines(session, scope, Filters(), limit=200, also=[open_])
        found = with_pauses(session, found, web.app.rules(), web.app.today())
        daily = wants_daily(session, who.person.email)
    return page("console/mine.html", who=who, lines=found, total=total, ladder=ladder,
                daily=daily, rules=web.app.rules().digests, saved=saved)  # fmt: skip


async def preference(request: Request) -> Response:
    """Someone asks for a daily digest, or for what the rules say again (their own only)."""
    who = await visiting(request)
    daily = (await form_of(request)).get("digest") == "daily"
    web = web_of(request)

    def choose_it() -> None:
        app = web.app
        with app.sessions() as session, session.begin():
            preferences.choose(session, who.person.email, daily, app.now(), who.client.address)
            doer = who.doer(app)
            keep(session, doer, "digest preference", "daily" if daily else "as the rules say")

    await run_in_threadpool(choose_it)
    return RedirectResponse("/console/mine?saved=1#digests", status_code=303)


async def items(request: Request) -> Response:
    return await run_in_threadpool(items_view, web_of(request), request)


def items_view(web: Web, request: Request) -> Response:
    who = visitor(web, request)
    return items_page(web, who, Filters.of(dict(request.query_params)))


def items_page(web: Web, who: Visitor, filters: Filters) -> Response:
    ladder = ladder_of(web)
    with reading(web.app) as session:
        scope = who.person.visible()
        found, total = lines(session, scope, filters)
        found = with_pauses(session, found, web.app.rules(), web.app.today())
        offered = offered_to(web, session, scope)
    pages = max(1, -(-total // PAGE_SIZE))
    return page("console/items.html", who=who, lines=found, total=total, filters=filters,
                choices=offered, ladder=ladder, statuses=STATUSES, sorts=SORTS, pages=pages,
                page_size=PAGE_SIZE, unassigned=UNASSIGNED)  # fmt: skip


def offered_to(web: Web, session: Session, scope: ColumnElement[bool] | None) -> Choices:
    """The filters' choices; for those who see every item, this process's last ones while
    no item was added (choices drawn from every item cost more than the page itself)."""
    if scope is not None:
        return choices(session, scope)
    return web.choices.get(revision(session), lambda: choices(session, None)).value


async def items_csv(request: Request) -> Response:
    who = await visiting(request)
    filters = Filters.of(dict(request.query_params))
    web = web_of(request)

    def build() -> str:
        ladder = ladder_of(web)
        with reading(web.app) as session:
            found, _ = lines(session, who.person.visible(), filters, limit=None)
        return csv_text(CSV_HEADER, csv_rows(found, ladder.stage_name))

    body = await run_in_threadpool(build)
    name = f"items-{web.app.today().isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


async def item(request: Request) -> Response:
    who = await visiting(request)
    web, number = web_of(request), item_id(request)
    done = request.query_params.get("done", "")
    return await run_in_threadpool(item_page, web, who, number, done, "", 200)


async def item_by_key(request: Request) -> Response:
    """The digest's "open in the console" link names the item by its key: to its page. An
    item the person may not see answers as one that does not exist: a key (a plan's name and
    an action's reference) is not for anyone signed in to test."""
    who = await visiting(request)
    web, key = web_of(request), str(request.path_params["key"])[:200]

    def find() -> int | None:
        with web.app.sessions() as session:
            row = next(stream(session, include_resolved=True, where=[Obligation.key == key]), None)
            return row.id if row is not None and who.person.may_see(row) else None

    number = await run_in_threadpool(find)
    if number is None:
        return problem(404, "Not found", "There is no item at this address.")
    return RedirectResponse(f"/console/items/{number}", status_code=303)


def item_id(request: Request) -> int:
    raw = str(request.path_params["id"])
    if not raw.isdigit() or len(raw) > 12:
        raise RefusedError(problem(404, "Not found", "There is no item at this address."))
    return int(raw)


def item_page(
    web: Web, who: Visitor, number: int, done: str, error: str, status: int, acted: str = ""
) -> Response:
    """The item's page; after a refused act, `error` says why and `acted` which form it was."""
    app = web.app
    with app.sessions() as session:
        row = visible_row(session, who.person, number)
        context = records.item_context(session, app, row)
        acts = who.person.acts_on(row)
        agencies = (  # the choices of Reassign, read only when it is offered
            list(session.scalars(select(Agency.name).order_by(Agency.name)))
            if REASSIGN in acts
            else []
        )
    return page("console/item.html", status, who=who, acts=acts, done=done, error=error,
                acted=acted, agencies=agencies, note_limit=NOTE_LIMIT, **context)  # fmt: skip


def visible_row(session: Session, person: Person, number: int) -> Obligation:
    row = next(stream(session, include_resolved=True, where=[Obligation.id == number]), None)
    if row is None:
        raise RefusedError(problem(404, "Not found", "There is no item at this address."))
    if not person.may_see(row):
        raise RefusedError(forbidden("This item is not one of your agency's or school's."))
    return row


async def item_act(request: Request) -> Response:
    who = await visiting(request)
    web, number = web_of(request), item_id(request)
    what = str(request.path_params["act"])
    fields = await form_of(request)
    return await run_in_threadpool(perform, web, who, number, what, fields)


def perform(web: Web, who: Visitor, number: int, what: str, fields: dict[str, str]) -> Response:
    app = web.app
    try:
        with app.sessions() as session, session.begin():
            obligations.take_turn(session)
            row = visible_row(session, who.person, number)
            asked = asked_of(session, what, fields)
            act(session, who.doer(app), row, asked)
            obligations.record(session, app.rules(), app.today())  # the item as it stands now
    except ForbiddenError:
        return forbidden()
    except (EventRefusedError, FormError) as exc:
        message = str(exc).split(": ", 1)[-1]
        status = 409 if isinstance(exc, EventRefusedError) else 422
        return item_page(web, who, number, "", message, status, what)
    return RedirectResponse(f"/console/items/{number}?done={what}", status_code=303)


class FormError(ValueError):
    """What was filled in cannot be acted on; the message says what to mend."""


def asked_of(session: Session, what: str, fields: dict[str, str]) -> Asked:
    """The request on the form; FormError when it cannot be acted on."""
    note = fields.get("note", "").strip()
    if len(note) > NOTE_LIMIT:
        raise FormError(f"Please keep the note under {NOTE_LIMIT} characters.")
    new_target = None
    if what == "retarget":
        try:
            new_target = date.fromisoformat(fields.get("target", ""))
        except ValueError as exc:
            raise FormError("Enter the new target date, like 2027-03-31.") from exc
    agency = None
    if what == "reassign":
        agency = session.scalar(select(Agency).where(Agency.name == fields.get("agency", "")))
        if agency is None:
            raise FormError("Choose the agency to give the item to.")
    return Asked(what, note, new_target, agency, asked_stage(what, fields))


def asked_stage(what: str, fields: dict[str, str]) -> int | None:
    """Escalate now: the stage chosen, if any (the next one when none is)."""
    chosen = fields.get("stage", "").strip()
    if what != "escalate" or not chosen:
        return None
    if not chosen.isdigit() or len(chosen) > 3:
        raise FormError("Choose the stage to escalate to.")
    return int(chosen)


async def deliveries(request: Request) -> Response:
    who = await visiting(request)
    wanted = records.DeliveryFilter.of(dict(request.query_params))
    web = web_of(request)

    def build() -> Response:
        only = None if who.person.sees_everything else who.person.email
        with web.app.sessions() as session:
            found, total = records.delivery_log(session, wanted, only)
        pages = max(1, -(-total // records.DELIVERY_PAGE))
        return page("console/deliveries.html", who=who, found=found, total=total,
                    wanted=wanted, pages=pages, states=[s.value for s in DeliveryState],
                    done=request.query_params.get("done", ""))  # fmt: skip

    return await run_in_threadpool(build)


async def resend(request: Request) -> Response:
    who = await visiting(request)
    web, number = web_of(request), item_id(request)
    if not who.person.manager:
        return forbidden()

    def put_back() -> bool:
        app = web.app
        with app.sessions() as session, session.begin():
            if not delivery.resend(session, number):
                return False
            doer = who.doer(app)
            keep(session, doer, "resent a digest", f"delivery {number}")
        return True

    if not await run_in_threadpool(put_back):
        return problem(409, "Not resent", "Only a digest that failed can be sent again.")
    return RedirectResponse("/console/deliveries?done=resent", status_code=303)


async def calendars(request: Request) -> Response:
    who = await visiting(request)
    web = web_of(request)

    def build() -> Response:
        person = who.person
        shown = None if person.manager else set(person.agencies)
        with web.app.sessions() as session:
            feeds = records.feed_lines(session, web.links.key, shown) if shown != set() else []
        return page("console/calendars.html", who=who, feeds=feeds, site=web.site(),
                    done=request.query_params.get("done", ""))  # fmt: skip

    return await run_in_threadpool(build)


async def feed_change(request: Request) -> Response:
    who = await visiting(request)
    web, number, what = web_of(request), item_id(request), str(request.path_params["act"])
    if not who.person.manager or what not in ("rotate", "revoke"):
        return forbidden()

    def change() -> str | None:
        """What was done ("made" for an agency's first address), or None: nothing to do."""
        app = web.app
        with app.sessions() as session, session.begin():
            agency = session.get(Agency, number)
            if agency is None:
                return None
            done = f"{what}d"
            if what == "rotate":
                done = "rotated" if feed_of(session, agency) is not None else "made"
                issue_token(session, agency, app.now(), web.links.key)
            elif not revoke(session, agency):
                return None
            doer = who.doer(app)
            keep(session, doer, f"{done} a calendar address", agency.name)
        return done

    done = await run_in_threadpool(change)
    if done is None:
        return problem(404, "Not found", "There is no such agency, or it has no address.")
    return RedirectResponse(f"/console/calendars?done={done}", status_code=303)


async def people(request: Request) -> Response:
    who = await visiting(request)
    web = web_of(request)
    if not who.person.sees_everything:  # the chair sees them; only the manager ends them
        return forbidden()

    def build() -> Response:
        app = web.app
        with app.sessions() as session:
            live = sessions.live(session, app.now(), sessions.Lifetimes.of(app.settings))
            latest = records.latest_actions(session)
        providers = {key: p.name for key, p in app.settings.oidc.items()}
        return page("console/people.html", who=who, live=live, latest=latest,
                    providers=providers, done=request.query_params.get("done", ""))  # fmt: skip

    return await run_in_threadpool(build)


async def end_sessions(request: Request) -> Response:
    who = await visiting(request)
    web = web_of(request)
    if not who.person.manager:
        return forbidden()
    email = (await form_of(request)).get("email", "").strip().lower()

    def end_them() -> int:
        app = web.app
        with app.sessions() as session, session.begin():
            ended = sessions.end_all(session, email, app.now(), f"ended by {who.person.email}")
            doer = who.doer(app)
            keep(session, doer, "ended sessions", email)
        return ended

    ended = await run_in_threadpool(end_them)
    return RedirectResponse(f"/console/people?done={ended}", status_code=303)
