"""An MI sheet's item says what the sheet asks of a school: its sessions, each with its own
calendar, the sheet's booking link and the date to book by, in both parts of the real message
(the item's page in the console: tests/console/test_console_mi_items.py)."""

from __future__ import annotations

import email
import email.policy
from datetime import date, time
from email.message import EmailMessage

import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import select

from tests.conftest import seed
from tests.support.browser import valid_markup
from tests.support.console import RIVERSIDE
from tests.support.helpers import run_import
from tests.support.services import NuChecker
from worker.app import App
from worker.db import transaction
from worker.delivery.tick import plan_once
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.models import (
    BriefingSession,
    Delivery,
    MISheet,
    Obligation,
    SessionStatus,
    SheetType,
)
from worker.obligations import sync_obligations, view_of

PERIOD = date(2017, 3, 1)  # MI 3/17 is due soon (14 March); two of its sessions have been held
ASKS = "Book a place on one of these sessions by 14 March 2017 (limited to 1 delegate per school)"
BOOKING = "https://www.educatorsolutions.org.uk"
HELD = "Monday 20 February 2017, 10:00 to 11:30, Norwich Professional Development Centre"
WHEN = "Tuesday 14 March 2017, 12:00 to 13:30"
COMING = f"{WHEN}, West Norfolk Professional Development Centre"


def schools_digest(app: App) -> Digest:
    """Riverside Primary's one digest for PERIOD, after MI 3/17 (seed 000) was imported."""
    run_import(app, seed("000"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, PERIOD)
    plan_once(app, app.rules(), PERIOD, app.partnership_label())
    with app.sessions() as session:
        rows = list(session.scalars(select(Delivery).where(Delivery.recipient == RIVERSIDE)))
    assert len(rows) == 1  # one digest for the school, whatever it holds
    return Digest.from_json(rows[0].payload)


def received(digest: Digest, app: App) -> tuple[str, str]:
    """The plain text (its lines joined) and the HTML of the message, read back from its bytes."""
    built = build_digest_message(digest, sender="NSCP <reminders@example.org>",
                                 message_id="<mi@example.org>", list_id="<digests.example.org>",
                                 sent_at=app.now())  # fmt: skip
    message = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    return " ".join(text.get_content().split()), html.get_content()


def row_of(page: BeautifulSoup, heading: str) -> Tag:
    found = page.find("th", string=heading)
    assert isinstance(found, Tag), heading
    cell = found.find_next_sibling("td")
    assert isinstance(cell, Tag)
    return cell


def test_a_schools_digest_lists_the_sheets_sessions_booking_link_and_date(
    app: App, markup_checker: NuChecker
) -> None:
    digest = schools_digest(app)
    [item] = digest.items
    assert (item.ref, item.text) == ("MI 3/17", ASKS)  # no longer the sheet's title again
    base = app.settings.public_base_url.rstrip("/")
    calendar = f"{base}/feeds/sessions/TLS-0317-T053.ics"
    text, raw = received(digest, app)
    html = BeautifulSoup(raw, "html.parser")

    assert f"Action: {ASKS}" in text
    assert f"- {HELD} (TLS-0217-T035): already held" in text
    assert f"- {COMING} (TLS-0317-T053) Add to calendar: {calendar}" in text
    assert f"Book at: {BOOKING}" in text
    assert "TLS-0217-T035.ics" not in text  # a session already held is not offered

    assert " ".join(row_of(html, "Action").get_text().split()) == ASKS
    sessions = [" ".join(li.get_text().split()) for li in row_of(html, "Sessions").find_all("li")]
    assert sessions == [
        f"{HELD} (TLS-0217-T035): already held",
        "Monday 27 February 2017, 10:00 to 11:30, Norwich Professional Development Centre "
        "(TLS-0217-T036): already held",
        "Tuesday 14 March 2017, 10:00 to 11:30, West Norfolk Professional Development Centre "
        "(TLS-0317-T052) · Add to calendar",
        f"{COMING} (TLS-0317-T053) · Add to calendar",
    ]
    links = [a["href"] for a in row_of(html, "Sessions").find_all("a")]
    assert links == [calendar.replace("T053", "T052"), calendar]
    [booking] = row_of(html, "Book at").find_all("a")
    assert booking["href"] == BOOKING
    valid_markup(raw.encode("utf-8"), "an MI digest's HTML part")


def sheet_row(*sessions: BriefingSession, booking: str | None = None) -> Obligation:
    sheet = MISheet(number="9/17", title="Prevent duty refresher", sheet_type=SheetType.ACTION,
                    due_date=date(2017, 3, 14), links=[], source_file="mi.txt",
                    booking_url=booking, sessions=list(sessions))  # fmt: skip
    return Obligation(key="mi:9:establishment:1", kind="mi_sheet", mi_sheet=sheet,
                      target_date=date(2017, 3, 14), stage=-1, events=[])  # fmt: skip


def briefing(status: SessionStatus) -> BriefingSession:
    return BriefingSession(reference="TLS-1", date=date(2017, 3, 1), start_time=time(10),
                           end_time=time(11), venue="County Hall", status=status)  # fmt: skip


@pytest.mark.parametrize(
    "sessions",
    [(), (briefing(SessionStatus.CANCELLED),)],
    ids=["no sessions", "every session cancelled"],
)
def test_a_sheet_with_no_session_to_book_asks_to_be_read_and_confirmed(
    sessions: tuple[BriefingSession, ...],
) -> None:
    view = view_of(sheet_row(*sessions))
    assert view.text == "Read the sheet and confirm it has been actioned by 14 March 2017"


def test_only_a_web_address_is_carried_as_the_booking_link() -> None:
    assert view_of(sheet_row(booking="https://book.example.org/")).booking_url == (
        "https://book.example.org/"
    )  # fmt: skip
    assert view_of(sheet_row(booking="javascript:alert(1)")).booking_url is None
