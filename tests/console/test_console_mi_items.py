"""An MI sheet's item page in the console says what the sheet asks, lists its sessions with
their calendars, and carries the sheet's booking link, as the school's digest does."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bs4 import BeautifulSoup
from sqlalchemy import select

from tests.conftest import seed
from tests.mail.test_mi_digest import ASKS, BOOKING, COMING, HELD, PERIOD, WHEN
from tests.support.browser import valid_markup
from tests.support.console import RIVERSIDE, sign_in
from tests.support.helpers import run_import
from tests.support.services import NuChecker
from tests.support.web import serving
from worker.app import App
from worker.db import transaction
from worker.models import Establishment, Obligation
from worker.obligations import sync_obligations


def riverside_item(app: App) -> int:
    """Riverside Primary's item of MI 3/17 (seed 000), the console's clock on PERIOD."""
    run_import(app, seed("000"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, PERIOD)
    morning = datetime.combine(PERIOD, time(9), tzinfo=UTC)
    app.settings = app.settings.model_copy(update={"clock_offset": morning - datetime.now(UTC)})
    with app.sessions() as session:
        riverside = select(Establishment.id).where(Establishment.email == RIVERSIDE)
        found = session.scalar(
            select(Obligation.id).where(Obligation.establishment_id.in_(riverside))
        )
    assert found is not None
    return found


def test_the_item_page_shows_what_the_sheet_asks_its_sessions_and_booking_link(
    app: App, markup_checker: NuChecker
) -> None:
    number = riverside_item(app)
    with serving(app) as client:
        sign_in(client, app, RIVERSIDE)
        shown = client.get(f"/console/items/{number}")
        valid_markup(shown.content, "an MI item's page")
        page = BeautifulSoup(shown.text, "html.parser")
        rows = {dt.get_text(strip=True): dd for r in page.select(".govuk-summary-list__row")
                if (dt := r.dt) is not None and (dd := r.dd) is not None}  # fmt: skip
        assert " ".join(rows["Action"].get_text().split()) == ASKS
        sessions = [" ".join(li.get_text().split()) for li in rows["Sessions"].find_all("li")]
        assert len(sessions) == 4
        assert sessions[0] == f"{HELD} (TLS-0217-T035): already held"
        assert sessions[3] == f"{COMING} (TLS-0317-T053) · Add to calendar ({WHEN})"
        links = [str(a["href"]) for a in rows["Sessions"].find_all("a")]
        assert links == ["/feeds/sessions/TLS-0317-T052.ics", "/feeds/sessions/TLS-0317-T053.ics"]
        [booking] = rows["Book at"].find_all("a")
        assert booking["href"] == BOOKING
        added = client.get(links[1])  # the session's own calendar, as the home page offers it
        assert added.status_code == 200
        assert "UID:TLS-0317-T053@" in added.text
