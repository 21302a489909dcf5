"""The overview tells the business manager how the service itself stands: when the daily run,
the tick and the backup last ran, what waits to be sent, and a day whose digests did not all
go out, in a real browser at a desktop's width and a phone's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Browser, expect

from tests.console.test_console_browser import signed_in
from tests.support.browser import looked_at
from tests.support.console import MANAGER, partnership
from tests.support.web import serving
from worker.app import App
from worker.db import transaction
from worker.delivery import jobs
from worker.models import DigestWatch

WHEN = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
WIDTHS = {"desktop": 1280, "phone": 375}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_overview_says_how_the_service_stands(app: App, browser: Browser, width: str
                                                  ) -> None:  # fmt: skip
    partnership(app)
    jobs.succeeded(app.sessions, jobs.DAILY_RUN, WHEN)
    jobs.failed(app.sessions, jobs.TICK, WHEN, OSError(28, "No space left on device"))
    with transaction(app.sessions) as session:
        session.add(DigestWatch(period=date(2026, 12, 8), alarm_at=WHEN,
                                alarm="they were never planned: no tick ran after their send time"))  # fmt: skip
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.set_viewport_size({"width": WIDTHS[width], "height": 900})
        page.goto("/console/")
        expect(
            page.get_by_text("The digests for 8 December 2026 did not all go out")
        ).to_be_visible()
        service = page.locator("#service + dl")
        expect(service).to_contain_text("Last succeeded 8 December 2026 at 08:00")
        expect(service).to_contain_text("failing (1 time in a row, last 8 December 2026 at 08:00)")
        expect(service).to_contain_text("No space left on device")
        expect(service).to_contain_text("Backup")
        looked_at(page, f"overview-service-{app.engine.dialect.name}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]
