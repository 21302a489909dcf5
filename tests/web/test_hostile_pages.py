"""`<script>` in a document: escaped in the web pages, plain text in the calendar feeds."""

from __future__ import annotations

from pathlib import Path

from icalendar import Calendar
from sqlalchemy import select

from tests.conftest import seed
from tests.importers.test_parsing import SHEET_HEAD
from tests.support.helpers import run_import
from tests.support.web import serving
from tests.web.test_web_links import NURSE, path
from worker.app import App
from worker.delivery.tick import plan_once
from worker.mail.digest import Digest
from worker.models import Delivery

SCRIPT = "<script>alert(1)</script>"
SHEET = (
    SHEET_HEAD
    + "\nDate\tTime\tVenue\tCourse Code\n"
    + "Monday 7th December 2026\t9.30 to 11.30\t{venue}\tTLS-1226-T001\n"
)


def test_script_in_an_action_is_escaped_on_the_link_page(app: App, tmp_path: Path) -> None:
    text = (
        seed("002")
        .read_text(encoding="utf-8")
        .replace("Address, locally", f"{SCRIPT} Address, locally")
    )
    cap = tmp_path / "cap.txt"
    cap.write_text(text, encoding="utf-8")
    run_import(app, cap)
    plan_once(app, app.rules(), app.today(), app.partnership_label())
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == NURSE))
        assert row is not None
        [item] = [i for i in Digest.from_json(row.payload).items if i.ref == "2.2"]
    with serving(app) as client:
        page = client.get(path(item.acknowledge_url))
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert SCRIPT not in page.text


def test_script_in_a_venue_is_plain_text_in_the_feed(app: App, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.txt"
    sheet.write_text(SHEET.format(venue=f"{SCRIPT} Hall"), encoding="utf-8")
    [result] = run_import(app, sheet)
    assert result.error is None
    with serving(app) as client:
        feed = client.get("/feeds/sessions.ics")
        home = client.get("/")
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["LOCATION"]) == f"{SCRIPT} Hall"
    assert SCRIPT not in home.text
