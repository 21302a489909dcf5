"""The CAP report from the console (the business manager and the chair):

    GET /console/reports/cap.{format}?plan=TITLE   Word, Excel or a web page

A GET that changes nothing: the report is written from what is recorded, as of today. Word
and Excel are downloaded, each plan under its own name and date; the web page opens in the
browser (and is saved under that name).
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.reports.cap import CapReport, NoPlanError, report_of
from worker.reports.files import FORMATS, file_name, written
from worker.web.context import problem, web_of
from worker.web.guard import forbidden, visiting
from worker.web.http import disposition

STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)


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
    return served(report, form)


def served(report: CapReport, form: str) -> Response:
    """The report as a file named for its plan and date: the web page inline, the others as
    attachments."""
    body = written(report, form)
    name = file_name(report, form)
    shown = disposition(name, "inline") if form == "html" else disposition(name)
    headers = {"content-disposition": shown, "cache-control": "no-store"}
    if form == "html":
        headers["content-security-policy"] = own_style_policy(body)
    return Response(body, media_type=FORMATS[form], headers=headers)


def own_style_policy(page: bytes) -> str:
    """The site's policy for the report page, but allowing the page's own style elements by
    their SHA-256: the page is also a file that opens on its own, so its style is inside it.
    Still no script, no image, no form."""
    hashes = [base64.b64encode(hashlib.sha256(css).digest()).decode()
              for css in STYLE.findall(page)]  # fmt: skip
    styles = " ".join(f"'sha256-{h}'" for h in hashes) or "'none'"
    return (f"default-src 'none'; style-src {styles}; form-action 'none'; "
            "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip
