"""The console on a phone (375px wide) and a laptop (1280px): every list readable with no
sideways scroll of the page, and the navigation on one line."""

from __future__ import annotations

from playwright.sync_api import Browser, ViewportSize, expect

from tests.console.test_console_browser import signed_in
from tests.support.browser import looked_at
from tests.support.console import MANAGER, health_item, partnership
from tests.support.web import serving
from worker.app import App

PHONE: ViewportSize = {"width": 375, "height": 800}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}


def test_every_console_page_fits_a_phone(app: App, browser: Browser) -> None:
    partnership(app)
    item = health_item(app)
    pages = {"overview": "/console/", "items": "/console/items", "mine": "/console/mine",
             "item": f"/console/items/{item}", "imports": "/console/imports",
             "rules": "/console/rules", "directory": "/console/directory",
             "deliveries": "/console/deliveries", "calendars": "/console/calendars",
             "versions": "/console/versions/rules", "people": "/console/people"}  # fmt: skip
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.set_viewport_size(PHONE)
        for name, path in pages.items():
            page.goto(path)
            looked_at(page, f"{app.engine.dialect.name}-phone-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide on a 375px screen"

        # An item list on a phone: each row's stage and status on screen, labelled.
        page.goto("/console/mine")
        row = page.locator(".app-item-table tbody tr").first
        for label in ("Stage", "Status"):
            cell = row.locator(f'td[data-label="{label}"]')
            box = cell.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= PHONE["width"], label
            before = cell.evaluate("c => getComputedStyle(c, '::before').content")
            assert before == f'"{label}: "'

        # A wide table scrolls in its own box, which the keyboard can reach.
        page.goto("/console/directory")
        region = page.get_by_role("region", name="Agencies and who holds each role")
        expect(region).to_have_attribute("tabindex", "0")
        assert region.evaluate("r => r.scrollWidth > r.clientWidth")
        assert region.evaluate("r => getComputedStyle(r).overflowX") == "auto"
        page.context.close()


def test_the_console_navigation_fits_one_line_of_a_laptop(app: App, browser: Browser) -> None:
    partnership(app)
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.set_viewport_size(LAPTOP)
        page.goto("/console/")
        links = page.get_by_role("navigation", name="Console").get_by_role("link")
        assert links.count() == 11  # the business manager sees every section
        tops = set(links.evaluate_all("found => found.map(a => a.offsetTop)"))
        assert len(tops) == 1, f"the navigation wraps at 1280px: {tops}"
        looked_at(page, f"{app.engine.dialect.name}-laptop-navigation")
        page.context.close()
