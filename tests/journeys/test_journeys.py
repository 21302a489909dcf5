"""Each user's week in a real browser (Debian's Chromium, Playwright), every button they press
pressed, no header set by hand, at a desktop's width (1280 px) and a phone's (375 px): each
page photographed under var/screenshots/, checked by axe-core and the Nu HTML Checker, and
wider than the screen nowhere but inside a table's own scrolling box.

* the agency contact: the digest's Acknowledge and Mark complete links, then *My items*;
* the school's DSL: the digest's Mark complete link, then the calendar address;
* the business manager: an alias added to the directory, an item reassigned, the CAP report;
* the independent chair: the overview and an item, with nothing to press but links.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.console.test_console_browser import signed_in
from tests.support.browser import looked_at, new_page
from tests.support.console import CHAIR, MANAGER, NURSE, RIVERSIDE, partnership
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.delivery.tick import plan_once
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.models import Delivery, LinkUse, Obligation, ObligationEvent

WIDTHS = {"desktop": 1280, "phone": 375}
HREF = re.compile(r'href="(http[^"]+/links/(?:acknowledge|complete)/[^"]+)"')


def digest_links(app: App, email: str) -> list[str]:
    """The Acknowledge and Mark complete addresses in the HTML of `email`'s digest today, in
    the order the mail shows them."""
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == email))
    if row is None:
        plan_once(app, app.rules(), app.today(), app.partnership_label())
        with app.sessions() as session:
            row = session.scalar(select(Delivery).where(Delivery.recipient == email))
    assert row is not None, f"no digest for {email}"
    message = build_digest_message(Digest.from_json(row.payload), sender="P <r@example.org>",
                                   message_id="<j@example.org>", list_id="<l.example.org>",
                                   sent_at=datetime.now(UTC))  # fmt: skip
    html = message.get_body(("html",))
    assert html is not None
    return HREF.findall(html.get_content())


def opened(page: Page, base: str, url: str) -> None:
    """A link from the mail, opened on the server the test started."""
    page.goto(base + urlsplit(url).path)


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen, but inside a box that scrolls on its own."""
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('body *')].filter(e => "
        "!e.closest('.app-scroll')).map(e => e.getBoundingClientRect().right))"
    )
    assert widest <= width + 1, f"{page.url}: something reaches {widest} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def look(page: Page, name: str, width: int) -> None:
    looked_at(page, name)
    fits(page, width)


def in_a_browser(browser: Browser, base: str, width: int) -> Page:
    page = new_page(browser, base, downloads=True)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def signed_in_at(browser: Browser, app: App, base: str, email: str, width: int) -> Page:
    page = signed_in(browser, app, base, email)
    page.set_viewport_size({"width": width, "height": 900})
    return page


def events_by(app: App, who: str) -> list[tuple[str, str]]:
    with app.sessions() as session:
        query = select(ObligationEvent).where(ObligationEvent.by == who)
        return [(e.kind, e.note) for e in session.scalars(query.order_by(ObligationEvent.id))]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_agency_contact(app: App, browser: Browser, width: str) -> None:
    partnership(app)
    links = digest_links(app, NURSE)
    acknowledge = next(u for u in links if "/acknowledge/" in u)
    complete = [u for u in links if "/complete/" in u][1]  # another item's
    name, px = f"journey-agency-{app.engine.dialect.name}-{width}", WIDTHS[width]
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = in_a_browser(browser, base, px)
        opened(page, base, acknowledge)
        look(page, f"{name}-01-acknowledge", px)
        page.get_by_label("Progress note").fill("Audit booked for January.")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("heading", name=re.compile("^Acknowledged"))).to_be_visible()
        look(page, f"{name}-02-acknowledged", px)
        opened(page, base, complete)
        page.get_by_label("What was done").fill("Training delivered to every GP practice.")
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_role("heading", name=re.compile("^Marked complete"))).to_be_visible()
        look(page, f"{name}-03-completed", px)
        mine = signed_in_at(browser, app, base, NURSE, px)
        mine.get_by_role("link", name="My items", exact=True).click()
        expect(mine.get_by_text("Acknowledged").first).to_be_visible()
        look(mine, f"{name}-04-my-items", px)
    assert events_by(app, NURSE) == [
        ("acknowledged", "Audit booked for January."),
        ("completed", "Training delivered to every GP practice."),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_school_dsl(app: App, browser: Browser, width: str) -> None:
    partnership(app)
    complete = next(u for u in digest_links(app, RIVERSIDE) if "/complete/" in u)
    name, px = f"journey-dsl-{app.engine.dialect.name}-{width}", WIDTHS[width]
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = in_a_browser(browser, base, px)
        opened(page, base, complete)
        look(page, f"{name}-01-complete", px)
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_role("heading", name=re.compile("^Marked complete"))).to_be_visible()
        look(page, f"{name}-02-completed", px)
        page.goto("/")
        feed = page.get_by_role("link", name="webcal://", exact=True).first
        expect(feed).to_be_visible()
        look(page, f"{name}-03-calendars", px)
        address = feed.get_attribute("href") or ""
        assert address.startswith("webcal://")
        calendar = page.request.get(base + urlsplit(address).path)
        assert calendar.status == 200
        assert calendar.text().startswith("BEGIN:VCALENDAR")
    with app.sessions() as session:
        [use] = session.scalars(select(LinkUse))
    assert (use.purpose, use.recipient) == ("complete", RIVERSIDE)


PLAN = """plan,ref,theme,scr_refs,action,lead_agency,target_date,progress
Plan of the journey,1.1,Professional curiosity,A,Review the strategy discussion audit.,DCS,02/11/2026,Started.
Plan of the journey,1.2,Professional curiosity,A,Publish the neglect toolkit.,KA,03/11/2026,Started.
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_business_manager(app: App, browser: Browser, width: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    run_import(app, plan)
    assert app.follow_change()
    name, px = f"journey-manager-{app.engine.dialect.name}-{width}", WIDTHS[width]
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in_at(browser, app, base, MANAGER, px)
        look(page, f"{name}-01-overview", px)
        page.get_by_role("link", name="Directory", exact=True).click()
        page.get_by_role("link", name="Edit the whole directory").click()
        text = page.get_by_label("The directory").input_value()
        page.get_by_label("The directory").fill(text.replace(
            "aliases: [Children's Services,", "aliases: [DCS, Children's Services,"))  # fmt: skip
        page.get_by_label("Why it changes").fill("The plans write DCS for Children's Services.")
        look(page, f"{name}-02-directory-edit", px)
        page.get_by_role("button", name="Check and save").click()
        expect(page.get_by_role("status")).to_contain_text("saved")
        page.goto("/console/items?agency=(unassigned)")
        page.get_by_role("link", name=re.compile("1.2")).first.click()
        page.get_by_label("Lead agency").select_option("Health")
        page.get_by_label("Reason").last.fill("KA is the designated nurse's initials.")
        page.get_by_role("button", name="Reassign").click()
        expect(page.get_by_role("status")).to_contain_text("reassign")
        look(page, f"{name}-03-reassigned", px)
        page.get_by_role("link", name="Imports", exact=True).click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Excel", exact=True).first.click()
        assert download.value.suggested_filename.endswith(".xlsx")
    with app.sessions() as session:
        rows = session.scalars(select(Obligation).options(
            selectinload(Obligation.agency), selectinload(Obligation.events)))  # fmt: skip
        leads = {r.document_lead: (r.agency.name if r.agency else None, [e.kind for e in r.events])
                 for r in rows}  # fmt: skip
    assert leads == {"DCS": ("Children's Services", []), "KA": ("Health", ["reassigned"])}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_independent_chair(app: App, browser: Browser, width: str) -> None:
    partnership(app)
    name, px = f"journey-chair-{app.engine.dialect.name}-{width}", WIDTHS[width]
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in_at(browser, app, base, CHAIR, px)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        look(page, f"{name}-01-overview", px)
        page.get_by_role("link", name=re.compile(r"^\d")).first.click()  # an overdue item
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        look(page, f"{name}-02-item", px)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_public_pages_fit_a_phone(app: App, browser: Browser, width: str) -> None:
    """The pages anyone reaches without signing in: the calendars, the statements, the
    sign-in page, and a refusal."""
    px = WIDTHS[width]
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = in_a_browser(browser, base, px)
        for path, shot in [("/", "home"), ("/accessibility", "accessibility"),
                           ("/privacy", "privacy"), ("/console/sign-in", "sign-in"),
                           ("/links/complete/not-a-token", "refused-link")]:  # fmt: skip
            page.goto(path)
            look(page, f"journey-public-{app.engine.dialect.name}-{width}-{shot}", px)
