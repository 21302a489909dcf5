"""Acknowledge and Mark complete pressed in a real browser (Debian's Chromium, Playwright), on
the page a real digest's link opens, with no header set by hand: at a desktop's width and a
phone's. A form on another site that posts to the same link, with a good form token, is refused
by what the browser itself says of it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.support.browser import looked_at, new_page
from tests.support.services import free_port
from tests.support.web import serving
from tests.web.test_web_links import NURSE, form_token, planned_digest, state
from worker.app import App
from worker.mail.message import build_digest_message
from worker.models import LinkUse, ObligationEvent

WIDTHS = {"desktop": 1280, "phone": 375}


def links_in_the_mail(app: App) -> tuple[str, str]:
    """The first item's Acknowledge and Mark complete addresses, read from the digest's HTML
    part as the recipient's mail program shows it."""
    digest = planned_digest(app)
    message = build_digest_message(digest, sender="Partnership <r@example.org>",
                                   message_id="<x@example.org>", list_id="<l.example.org>",
                                   sent_at=datetime.now(UTC))  # fmt: skip
    html = message.get_body(("html",))
    assert html is not None
    body = html.get_content()
    item = digest.items[0]
    assert f'href="{item.acknowledge_url}"' in body
    assert f'href="{item.complete_url}"' in body
    return item.acknowledge_url, item.complete_url


def on(base: str, url: str) -> str:
    """`url` (made for the public address) on the server the test started."""
    return base + urlsplit(url).path


@pytest.mark.parametrize("width", WIDTHS)
def test_acknowledge_then_complete_pressed_in_chromium(
    app: App, browser: Browser, width: str
) -> None:
    acknowledge, complete = links_in_the_mail(app)
    name = f"links-{app.engine.dialect.name}-{width}"
    with serving(app) as client:
        base = str(client.base_url)
        page = new_page(browser, base)
        page.set_viewport_size({"width": WIDTHS[width], "height": 900})
        page.goto(on(base, acknowledge))
        looked_at(page, f"{name}-01-acknowledge")
        page.get_by_label("Progress note").fill("Audit booked for May")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("heading", name="Acknowledged")).to_be_visible()
        looked_at(page, f"{name}-02-acknowledged")
        page.goto(on(base, complete))
        looked_at(page, f"{name}-03-complete")
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_role("heading", name="Marked complete")).to_be_visible()
        looked_at(page, f"{name}-04-completed")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
    with app.sessions() as session:
        kinds = [(e.kind, e.by, e.note) for e in session.scalars(select(ObligationEvent))]
        uses = sorted(u.purpose for u in session.scalars(select(LinkUse)))
    assert kinds == [
        ("acknowledged", NURSE, "Audit booked for May"),
        ("completed", NURSE, "marked complete from the digest link"),
    ]
    assert uses == ["acknowledge", "complete"]


@contextmanager
def another_site(html: str) -> Iterator[str]:
    """A site of someone else's (localhost, where the service is 127.0.0.1: another site to a
    browser) serving one page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_form_on_another_site_is_refused_in_chromium(app: App, browser: Browser) -> None:
    _, complete = links_in_the_mail(app)
    with serving(app) as client:
        base = str(client.base_url)
        target = on(base, complete)
        token = form_token(client, complete)  # the strongest forger: even the page's token
        before = state(app)
        forged = (
            f'<!DOCTYPE html><title>Win a prize</title><form method="post" action="{target}">'
            f'<input type="hidden" name="form_token" value="{token}">'
            "<button>Claim</button></form>"
        )
        with another_site(forged) as elsewhere:
            page = new_page(browser, elsewhere)
            page.goto(elsewhere)
            page.get_by_role("button", name="Claim").click()
            expect(page.get_by_role("heading", name="This request came from another site")
                   ).to_be_visible()  # fmt: skip
        assert state(app) == before
        page = new_page(browser, base)  # the page's own button still works afterwards
        page.goto(target)
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_role("heading", name="Marked complete")).to_be_visible()
    assert state(app) != before
