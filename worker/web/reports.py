"""The CAP report downloaded from the console (the business manager and the chair):

    GET /console/reports/cap.{format}?plan=TITLE   Word, Excel or a web page

A GET that changes nothing: the report is written from what is recorded, as of today.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.reports.cap import NoPlanError, report_of
from worker.reports.files import FORMATS, written
from worker.web.context import problem, web_of
from worker.web.guard import forbidden, visiting


async def cap(request: Request) -> Response:
    who = await visiting(request)
    if not who.person.sees_everything:
        return forbidden()
    form = request.path_params.get("format", "")
    if form not in FORMATS:
        return problem(404, "No such report", "The CAP report comes as docx, xlsx or html.")
    plan = request.query_params.get("plan") or None
    app = web_of(request).app
    try:
        report = await run_in_threadpool(report_of, app, plan)
    except NoPlanError as exc:
        return problem(404, "No such plan", str(exc))
    name = f"cap-report-{report.on.isoformat()}.{form}"
    response = Response(written(report, form), media_type=FORMATS[form])
    response.headers["content-disposition"] = f'attachment; filename="{quote(name)}"'
    response.headers["cache-control"] = "no-store"
    return response
