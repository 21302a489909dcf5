"""The console's pages for the versions of the rules and the directory (worker/config/versions.py).

    /console/versions/{kind}                     every version; ?a=N&b=M: their difference
    /console/versions/{kind}/{number}/rollback   POST: put version N back in force (manager)

The business manager and the chair see them; only the business manager rolls back, with a
reason, recorded as every version is and as a console action.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.config.versions import KINDS, Author, difference, history, numbered, roll_back
from worker.console.acts import keep
from worker.web.context import Web, page, problem, web_of
from worker.web.guard import Visitor, forbidden, form_of, visiting
from worker.yaml_files import ConfigError

TITLES = {"rules": "Escalation rules", "directory": "Directory"}


def kind_of(request: Request) -> str | None:
    kind = str(request.path_params["kind"])
    return kind if kind in KINDS else None


def number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 7 else None


async def versions(request: Request) -> Response:
    who = await visiting(request)
    kind = kind_of(request)
    if kind is None:
        return problem(404, "Not found", "There is no such page.")
    if not who.person.sees_everything:
        return forbidden()
    query = request.query_params
    compare = number(query.get("a")), number(query.get("b"))
    saved = number(query.get("saved"))
    return await run_in_threadpool(versions_page, web_of(request), who, kind, compare, saved)


def versions_page(web: Web, who: Visitor, kind: str, compare: tuple[int | None, int | None],
                  saved: int | None, error: str = "", status: int = 200,
                  failed: int | None = None) -> Response:  # fmt: skip
    """The versions of `kind`; after a refused rollback, `error` says why and `failed` names
    the version it was."""
    with web.app.sessions() as session:
        found = history(session, kind)
        old, new = (numbered(session, kind, n) if n else None for n in compare)
        diff = difference(old.content, new.content) if old and new else None
    return page("console/versions.html", status, who=who, kind=kind, title=TITLES[kind],
                versions=found, a=compare[0], b=compare[1], diff=diff, kinds=TITLES,
                saved=saved, error=error, failed=failed)  # fmt: skip


async def rollback(request: Request) -> Response:
    who = await visiting(request)
    kind, web = kind_of(request), web_of(request)
    wanted = number(str(request.path_params["number"]))
    if kind is None or wanted is None:
        return problem(404, "Not found", "There is no such version.")
    if not who.person.manager:
        return forbidden()
    reason = (await form_of(request)).get("reason", "").strip()[:500]

    def put_back() -> int | str:
        app = web.app
        author = Author(who.person.email, reason, who.client.address or "console")
        try:
            with app.sessions() as session, session.begin():
                made = roll_back(session, kind, wanted, author, app.settings.config_dir)
                doer = who.doer(app)
                keep(session, doer, f"{kind} rollback", f"{kind} version {wanted}")
                return made.number
        except ConfigError as exc:
            return "Nothing saved: " + "; ".join(exc.problems)

    done = await run_in_threadpool(put_back)
    if isinstance(done, str):
        return await run_in_threadpool(versions_page, web, who, kind, (None, None), None, done,
                                       422, wanted)  # fmt: skip
    await run_in_threadpool(web.app.follow_change)
    return RedirectResponse(f"/console/versions/{kind}?saved={done}", status_code=303)
