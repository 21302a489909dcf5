"""The console's imports page over HTTP: upload, preview (nothing stored), confirm, the
history, and the original downloaded byte for byte; who may do which."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select

from tests.support.console import CHAIR, MANAGER, NURSE, csrf, sign_in
from tests.support.web import serving
from worker.app import App
from worker.models import Action, ConsoleAction, ImportRecord
from worker.web.http import disposition

PAGE = "/console/imports"
TITLE = "Composite Action Plan of the review group"
GOOD = (
    f"{TITLE}\nTheme,Ref,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,Audit the referrals,Health,June 2027\n"
    "Professional curiosity,1.2,Train the front door,Police,TBC\n"
).encode()
VAGUE = GOOD.replace(b"June 2027", b"Spring 2027")


def upload(client: httpx.Client, *files: tuple[str, bytes], plan: str = "") -> httpx.Response:
    token = csrf(client.get(PAGE))
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    return client.post(f"{PAGE}/preview", data={"csrftoken": token, "plan": plan}, files=parts)


def confirm(client: httpx.Client, preview: httpx.Response) -> httpx.Response:
    """Confirm every document ticked on the preview, with its hidden fields, as a browser."""
    found = re.findall(r'type="checkbox" name="document" value="([^"]+)"', preview.text)
    chosen = [html.unescape(value) for value in found]
    plan = re.search(r'name="plan" value="([^"]*)"', preview.text)
    fields: dict[str, str | list[str]] = {
        "csrftoken": csrf(preview), "document": chosen,
        "plan": html.unescape(plan.group(1)) if plan else "",
    }  # fmt: skip
    hidden = re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)" form="confirm"',
                        preview.text)  # fmt: skip
    fields |= {name: html.unescape(value) for name, value in hidden}  # columns chosen
    return client.post(f"{PAGE}/confirm", data=fields)


def actions(app: App) -> list[str]:
    with app.sessions() as session:
        return [a.ref for a in session.scalars(select(Action).order_by(Action.ref))]


def test_a_preview_stores_nothing_and_confirm_imports_the_good_ones(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("plan.csv", GOOD), ("vague.csv", VAGUE))
        assert preview.status_code == 200, preview.text
        text = html.unescape(preview.text)
        assert actions(app) == []  # nothing stored by a preview
        assert "plan.csv: action plan (CSV)" in text
        assert f"<td><strong>New</strong> action</td><td>{TITLE} 1.1</td>" in text
        assert "Date to set: <ins>TBC</ins>" in text
        assert "vague.csv: refused" in text
        assert "<dt>Where</dt><dd>line 3</dd>" in text
        assert "<dt>Field</dt><dd>Target date</dd>" in text
        assert "<dt>Value</dt><dd><code>Spring 2027</code></dd>" in text
        assert text.count('name="document"') == 1  # a refused document cannot be ticked
        done = confirm(client, preview)
        assert done.status_code == 303
        shown = client.get(done.headers["location"]).text
    assert actions(app) == ["1.1", "1.2"]
    assert "1 document imported" in shown
    with app.sessions() as session:
        [row] = session.scalars(select(ImportRecord))
        assert (row.by, row.file_name, row.refused) == (MANAGER, "plan.csv", False)
        kept = session.scalar(
            select(ConsoleAction).where(ConsoleAction.action == "document imported")
        )
        assert kept is not None
        assert kept.subject == f"plan.csv ({row.sha256[:12]})"


def test_a_changed_plan_previews_field_by_field(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        confirm(client, upload(client, ("plan.csv", GOOD)))
        changed = GOOD.replace(b"June 2027", b"Q3 2027/28").replace(b"1.2,Train", b"1.3,Train")
        text = html.unescape(upload(client, ("plan-v2.csv", changed)).text)
    assert "Target date: <del>2027-06-30</del> → <ins>2027-12-31</ins>" in text
    assert f"<td><strong>Withdrawn</strong> action</td><td>{TITLE} 1.2</td>" in text
    assert f"<td><strong>New</strong> action</td><td>{TITLE} 1.3</td>" in text
    assert actions(app) == ["1.1", "1.2"]


def test_the_original_is_downloaded_as_uploaded_with_a_safe_name(app: App) -> None:
    hostile = 'plan"; x=1\r\nSet-Cookie: a=b <script>.csv'
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, (hostile, GOOD))
        assert "<script>" not in preview.text
        confirm(client, preview)
        history = client.get(PAGE).text
        with app.sessions() as session:
            [row] = session.scalars(select(ImportRecord))
        got = client.get(f"{PAGE}/{row.id}/original")
    assert "<script>" not in history
    assert got.status_code == 200
    assert got.content == GOOD
    assert got.headers["content-type"] == "application/octet-stream"
    assert "set-cookie" not in got.headers
    disposition = got.headers["content-disposition"]
    assert re.fullmatch(r"attachment; filename=\"[^\"\\;\r\n]*\"; filename\*=UTF-8''[\w%.~-]*",
                        disposition), disposition  # fmt: skip


def test_a_download_name_cannot_end_the_header_or_add_another() -> None:
    name = 'plan"; x=1\r\nSet-Cookie: a=b é.csv'
    assert disposition(name) == (
        'attachment; filename="plan__ x=1__Set-Cookie: a=b _.csv"; '
        "filename*=UTF-8''plan%22%3B%20x%3D1%0D%0ASet-Cookie%3A%20a%3Db%20%C3%A9.csv"
    )


def test_the_chair_sees_the_history_but_only_the_manager_uploads(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        confirm(client, upload(client, ("plan.csv", GOOD)))
    with serving(app) as chair:
        sign_in(chair, app, CHAIR)
        page = chair.get(PAGE)
        assert page.status_code == 200
        assert "plan.csv" in page.text
        assert "Upload and preview" not in page.text
        token = csrf(page)
        refused = chair.post(f"{PAGE}/preview", data={"csrftoken": token},
                             files=[("files", ("p.csv", GOOD, "text/csv"))])  # fmt: skip
        assert refused.status_code == 403
        with app.sessions() as session:
            [row] = session.scalars(select(ImportRecord))
        assert chair.get(f"{PAGE}/{row.id}/original").content == GOOD
    with serving(app) as nurse:
        sign_in(nurse, app, NURSE)
        assert nurse.get(PAGE).status_code == 403
        assert nurse.get(f"{PAGE}/{row.id}/original").status_code == 403


def test_an_upload_without_its_csrf_token_or_too_large_is_refused(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        forged = client.post(f"{PAGE}/preview", data={"csrftoken": "forged"},
                             files=[("files", ("p.csv", GOOD, "text/csv"))])  # fmt: skip
        assert forged.status_code == 403
        huge = upload(client, *[(f"{n}.csv", b"x" * 5_400_000) for n in range(10)])
        assert huge.status_code == 413
        too_big = html.unescape(upload(client, ("big.txt", b"x" * 5_300_000)).text)
        assert "big.txt: refused" in too_big
        assert "too large" in too_big
        nothing = upload(client)
        assert nothing.status_code == 422
    assert actions(app) == []
