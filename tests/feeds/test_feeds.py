"""The briefing-session feeds, fetched over HTTP from uvicorn and read back with icalendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import icalendar
import pytest
import vobject
from sqlalchemy import update

from tests.conftest import seed
from tests.support.helpers import kept_body, kept_keys, options, run_import
from tests.support.web import BST_SHEET, bst_sheet, serving
from worker.app import App
from worker.db import transaction
from worker.directory.entries import find_agency
from worker.feeds.agency import issue_token
from worker.feeds.public import ALL, SessionFilter, sessions_key
from worker.importers import import_files
from worker.models import BriefingSession
from worker.obligations import sync_obligations
from worker.settings import load_settings

LONDON = "Europe/London"


def imported(app: App, path: Path, at: datetime) -> None:
    """As `reminders import` does: the document, then the public feeds written again."""
    [result] = import_files([path], app.sessions, options(app), at)
    assert result.error is None, result.error
    app.publish_feeds()


def events(response: httpx.Response) -> dict[str, icalendar.Event]:
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in calendar.events}


def last_modified(response: httpx.Response) -> datetime:
    return parsedate_to_datetime(response.headers["last-modified"])


@pytest.fixture
def earlier() -> datetime:
    """An import time safely in the past, so Last-Modified is never clamped to now."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def test_times_are_london_time_on_both_sides_of_the_clock_changes(
    app: App, tmp_path: Path, earlier: datetime
) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    with serving(app) as client:
        response = client.get("/feeds/sessions.ics", headers={"Accept-Encoding": "gzip"})
    found = events(response)
    starts = {uid.split("@")[0]: e.decoded("DTSTART") for uid, e in found.items()}
    expected_utc = {
        "TLS-0326-T001": datetime(2026, 3, 27, 10, 0, tzinfo=UTC),  # GMT
        "TLS-0326-T002": datetime(2026, 3, 30, 9, 0, tzinfo=UTC),  # BST: 10:00 in London
        "TLS-1026-T003": datetime(2026, 10, 23, 13, 0, tzinfo=UTC),  # BST: 14:00 in London
        "TLS-1026-T004": datetime(2026, 10, 26, 14, 0, tzinfo=UTC),  # GMT again
    }
    assert {ref: start.astimezone(UTC) for ref, start in starts.items()} == expected_utc
    text = response.text
    assert "DTSTART;TZID=Europe/London:20260327T100000" in text
    assert "DTSTART;TZID=Europe/London:20260330T100000" in text
    assert "DTEND;TZID=Europe/London:20261026T153000" in text
    # Never a floating time: every event's start and end names its zone.
    for event in found.values():
        assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == LONDON


def test_every_feed_property_clients_need(app: App, tmp_path: Path, earlier: datetime) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    with serving(app) as client:
        response = client.get("/feeds/sessions.ics", headers={"Accept-Encoding": "gzip"})
    text = response.text.replace("\r\n ", "")  # unfold
    for line in ("VERSION:2.0", "METHOD:PUBLISH", "X-WR-CALNAME:NSCP briefing sessions",
                 "X-WR-TIMEZONE:Europe/London", "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
                 "X-PUBLISHED-TTL:PT1H", "PRODID:-//NSCP//Reminders calendar feeds//EN"):  # fmt: skip
        assert line in text.splitlines(), line
    calendar = icalendar.Calendar.from_ical(response.content)
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == LONDON
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    event = events(response)["TLS-0326-T002@reminders.example.org"]
    assert event.decoded("DTSTAMP") == earlier
    assert event.decoded("LAST-MODIFIED") == earlier
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["LOCATION"] == "County Hall, Norwich"
    assert event["URL"] == "https://www.training.example.org"
    description = str(event["DESCRIPTION"])
    assert "Course code: TLS-0326-T002" in description
    assert "Book: https://www.training.example.org" in description
    assert "Delegate limit: 2 places per school/establishment" in description
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "max-age" in response.headers["cache-control"]
    assert "content-encoding" not in response.headers  # asked for gzip: never compressed
    assert response.headers["etag"].startswith('"')  # strong, not W/"…"


def test_uids_stay_and_sequence_rises_when_a_session_moves(
    app: App, tmp_path: Path, earlier: datetime
) -> None:
    sheet = bst_sheet(tmp_path)
    imported(app, sheet, earlier)
    with serving(app) as client:
        first = client.get("/feeds/sessions.ics")
        imported(app, sheet, earlier + timedelta(minutes=10))  # the same document again
        again = client.get("/feeds/sessions.ics")
        moved = BST_SHEET.replace("Monday 30 March 202610:00 to 11:30 am",
                                  "Monday 30 March 202613:00 to 14:30")  # fmt: skip
        imported(app, bst_sheet(tmp_path, moved), earlier + timedelta(hours=1))
        after = client.get("/feeds/sessions.ics")
        stale = client.get("/feeds/sessions.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.content == first.content
    assert events(after).keys() == events(first).keys()
    uid = "TLS-0326-T002@reminders.example.org"
    before_event, after_event = events(first)[uid], events(after)[uid]
    assert (before_event["SEQUENCE"], after_event["SEQUENCE"]) == (0, 1)
    assert after_event.decoded("DTSTART") == datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert after_event.decoded("LAST-MODIFIED") > before_event.decoded("LAST-MODIFIED")
    others = [u for u in events(after) if u != uid]
    assert all(events(after)[u]["SEQUENCE"] == 0 for u in others)
    assert last_modified(after) > last_modified(first)
    assert after.headers["etag"] != first.headers["etag"]
    assert stale.status_code == 200


def test_a_cancelled_session_stays_in_the_feed(app: App, tmp_path: Path, earlier: datetime) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    row = "Monday 26 October 202614:00 to 15:30Kings Lynn Town HallTLS-1026-T004\n"
    with serving(app) as client:
        before = client.get("/feeds/sessions.ics")
        imported(app, bst_sheet(tmp_path, BST_SHEET.replace(row, "")), earlier + timedelta(hours=1))
        after = client.get("/feeds/sessions.ics")
        single = client.get("/feeds/sessions/TLS-1026-T004.ics")
    cancelled = events(after)["TLS-1026-T004@reminders.example.org"]
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["SEQUENCE"] == 1
    assert str(cancelled["SUMMARY"]).startswith("Cancelled: ")
    assert len(events(after)) == len(events(before)) == 4
    assert last_modified(after) > last_modified(before)
    assert [e["STATUS"] for e in events(single).values()] == ["CANCELLED"]


def test_conditional_gets_answer_304(app: App, tmp_path: Path, earlier: datetime) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    with serving(app) as client:
        full = client.get("/feeds/sessions.ics")
        etag, modified = full.headers["etag"], full.headers["last-modified"]
        one_second_before = format_datetime(last_modified(full) - timedelta(seconds=1), True)

        def status(**headers: str) -> int:
            response = client.get("/feeds/sessions.ics", headers=headers)
            if response.status_code == 304:
                assert response.content == b""
                assert response.headers["etag"] == etag
                assert response.headers["last-modified"] == modified
            return response.status_code

        assert status(**{"If-None-Match": etag}) == 304
        assert status(**{"If-None-Match": f'"other", {etag}'}) == 304
        assert status(**{"If-None-Match": f"W/{etag}"}) == 304
        assert status(**{"If-None-Match": '"other"'}) == 200
        assert status(**{"If-Modified-Since": modified}) == 304
        assert status(**{"If-Modified-Since": one_second_before}) == 200
        assert status(**{"If-Modified-Since": "yesterday-ish"}) == 200
        # If-None-Match decides when both are sent (RFC 9110).
        assert status(**{"If-None-Match": '"other"', "If-Modified-Since": modified}) == 200
        single = client.get("/feeds/sessions/TLS-0326-T001.ics")
        again = {"If-None-Match": single.headers["etag"]}
        assert client.get("/feeds/sessions/TLS-0326-T001.ics", headers=again).status_code == 304
        assert client.head("/feeds/sessions.ics").headers["etag"] == etag


def test_last_modified_never_moves_back_when_a_session_leaves_a_filter(
    app: App, tmp_path: Path, earlier: datetime
) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    with serving(app) as client:
        before = client.get("/feeds/sessions.ics", params={"venue": "kings lynn"})
        moved = BST_SHEET.replace("202614:00 to 15:30Kings Lynn Town HallTLS-1026-T004",
                                  "202614:00 to 15:30County Hall, NorwichTLS-1026-T004")  # fmt: skip
        imported(app, bst_sheet(tmp_path, moved), earlier + timedelta(hours=1))
        after = client.get("/feeds/sessions.ics", params={"venue": "kings lynn"})
        check = {"If-Modified-Since": before.headers["last-modified"]}
        revalidated = client.get(
            "/feeds/sessions.ics", params={"venue": "kings lynn"}, headers=check
        )
    assert list(events(after)) == ["TLS-1026-T003@reminders.example.org"]
    assert last_modified(after) > last_modified(before)
    assert revalidated.status_code == 200  # a client that only sends the date still hears


def uids(client: httpx.Client, **params: str) -> list[str]:
    return [u.split("@")[0] for u in events(client.get("/feeds/sessions.ics", params=params))]


def test_filters_and_single_session_feeds(app: App, tmp_path: Path, earlier: datetime) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    slashed = (
        BST_SHEET.replace("MI Number:12/26", "MI Number:13/26").split("DateTimeVenueReference")[0]
        + "Date\tTime\tVenue\tCourse Code\n"
        "Monday 7th December 2026\t9.30 to 11.30\tCounty Hall, Room 3\tCPD/26/7\n"
    )
    imported(app, bst_sheet(tmp_path, slashed, "mi-13-26.txt"), earlier)
    with serving(app) as client:
        assert uids(client, venue="KINGS lynn") == ["TLS-1026-T003", "TLS-1026-T004"]
        assert uids(client, mi="13/26") == ["CPD/26/7"]
        assert uids(client, code="tls-03") == ["TLS-0326-T001", "TLS-0326-T002"]
        assert uids(client, venue="county hall", code="TLS") == ["TLS-0326-T001", "TLS-0326-T002"]
        assert uids(client, venue="100%_") == []
        named = client.get("/feeds/sessions.ics", params={"mi": "12/26"})
        assert "X-WR-CALNAME:NSCP briefing sessions from MI 12/26" in named.text
        single = client.get("/feeds/sessions/CPD%2F26%2F7.ics")
        unknown = client.get("/feeds/sessions/TLS-9999-X999.ics")
        bad = client.get("/feeds/sessions.ics", params={"room": "3"})
    assert list(events(single)) == ["CPD/26/7@reminders.example.org"]
    assert "X-WR-CALNAME:NSCP briefing session CPD/26/7" in single.text
    assert unknown.status_code == 404
    assert "No briefing session has reference TLS-9999-X999" in unknown.text
    assert bad.status_code == 400
    assert "no filter called room" in bad.text
    assert bad.headers["content-type"].startswith("text/html")


def test_home_page_lists_the_public_feeds(app: App, tmp_path: Path, earlier: datetime) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    public = App(load_settings(public_base_url="https://calendars.example.org/"))
    try:
        with serving(public) as client:
            page = client.get("/")
    finally:
        public.close()
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["referrer-policy"] == "same-origin"
    html = page.text
    for address in (
        "https://calendars.example.org/feeds/sessions.ics",
        "webcal://calendars.example.org/feeds/sessions.ics",
        "https://calendars.example.org/feeds/sessions.ics?mi=12%2F26",
        "webcal://calendars.example.org/feeds/sessions.ics?venue=Kings+Lynn+Town+Hall",
    ):
        assert f'href="{address}"' in html, address
    assert "<strong>Subscribe</strong>" in html
    assert "<strong>Importing</strong>" in html
    assert "never reach you" in html


@pytest.mark.parametrize(
    "base_url", ["http://calendars.intranet.example/", "https://calendars.example.org/"]
)
def test_home_page_labels_each_address_by_its_own_scheme(
    app: App, tmp_path: Path, earlier: datetime, base_url: str
) -> None:
    imported(app, bst_sheet(tmp_path), earlier)
    public = App(load_settings(public_base_url=base_url))
    try:
        with serving(public) as client:
            html = client.get("/").text
    finally:
        public.close()
    scheme = base_url.split(":", 1)[0]
    labelled = re.findall(r'<a href="([^"]+)">([a-z]+)://</a>', html)
    assert len(labelled) >= 6  # a webcal and a pasted address for each of 3+ feeds
    for address, label in labelled:
        assert address.startswith(f"{label}://"), (address, label)
    assert {label for _, label in labelled} == {"webcal", scheme}
    other = "https" if scheme == "http" else "http"
    assert f"paste the {scheme} link" in html
    assert f"{other}://</a>" not in html
    assert f"paste the {other} link" not in html


def test_unknown_pages_and_methods_get_plain_pages(app: App) -> None:
    with serving(app) as client:
        missing = client.get("/nothing/here")
        post = client.post("/feeds/sessions.ics")
    assert (missing.status_code, post.status_code) == (404, 405)
    assert set(post.headers["allow"].split(", ")) == {"GET", "HEAD"}
    for response in (missing, post):
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
def test_another_host_gets_no_page_and_no_redirect(app: App, host: str) -> None:
    with serving(app) as client:
        other = client.get("/links/acknowledge/x/", headers={"host": host})
        ours = client.get("/links/acknowledge/x/", headers={"host": "localhost:8000"})
    assert other.status_code == 400
    assert "location" not in other.headers
    assert "evil" not in other.text
    assert ours.status_code in (307, 400)  # a slash redirect, to our own host only
    assert "evil" not in ours.headers.get("location", "")


def test_variants_of_one_filter_share_one_kept_feed(app: App, tmp_path: Path) -> None:
    imported(app, bst_sheet(tmp_path), datetime(2026, 3, 1, 9, tzinfo=UTC))
    variants = [" Kings Lynn Town Hall", "kings lynn  town hall ", "KINGS LYNN TOWN HALL", "%20"]
    with serving(app) as client:
        bodies = [
            client.get("/feeds/sessions.ics", params={"venue": v}).content for v in variants[:3]
        ]
        blank = client.get("/feeds/sessions.ics", params={"venue": " "})
        client.get("/feeds/sessions.ics", params={"venue": ""})
    assert bodies[0] == bodies[1] == bodies[2]
    assert len(events_of(bodies[0])) == 2
    assert blank.content == kept_body(app, ALL)  # no filter at all: the whole feed
    one = sessions_key(SessionFilter(venue="kings lynn town hall"))
    assert kept_keys(app) == sorted([ALL, one])
    assert kept_body(app, one) == bodies[0]


def events_of(body: bytes) -> list[icalendar.Component]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_a_rate_limit_answers_429_with_retry_after(app: App) -> None:
    app.settings = app.settings.model_copy(update={"rate_limit": "5/minute"})
    with serving(app) as client:
        answers = [client.get("/feeds/agency/nothing.ics") for _ in range(7)]
        public = client.get("/feeds/sessions.ics")
    assert [a.status_code for a in answers] == [404] * 5 + [429] * 2
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert "Too many requests" in answers[-1].text
    assert public.status_code == 200  # the public feeds are not limited


def test_a_stored_javascript_booking_link_never_reaches_a_calendar(
    app: App, tmp_path: Path
) -> None:
    run_import(app, bst_sheet(tmp_path))  # not yet published: the first request builds it
    with transaction(app.sessions) as session:
        session.execute(update(BriefingSession).values(booking_url="javascript:alert(1)"))
    with serving(app) as client:
        body = client.get("/feeds/sessions.ics").content
    assert b"javascript" not in body
    assert all(str(e["URL"]).startswith("http://localhost:8000/") for e in events_of(body))


def test_the_seed_documents_feeds_pass_a_second_parser(app: App) -> None:
    """vobject, an independent parser, reads every feed of the partnership's own documents."""
    run_import(app, seed("000"), seed("001"), seed("002"), seed("003"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
        health = find_agency(session, "Health")
        assert health is not None
        token = issue_token(session, health, datetime.now(UTC), b"k" * 32)
    with serving(app) as client:
        everything = client.get("/feeds/sessions.ics")
        references = [e.split("@")[0] for e in events(everything)]
        singles = [client.get(f"/feeds/sessions/{quote(r, safe='')}.ics") for r in references]
        deadlines = client.get(f"/feeds/agency/{token}.ics")
    assert len(references) >= 8
    counts = []
    for response in [everything, *singles, deadlines]:
        assert response.status_code == 200
        [parsed] = list(vobject.readComponents(response.text, validate=True))
        assert parsed.method.value == "PUBLISH"
        assert parsed.vtimezone.tzid.value == LONDON
        for event in parsed.vevent_list:
            start = event.dtstart.value
            if isinstance(start, datetime):
                assert start.utcoffset() is not None  # vobject resolved the VTIMEZONE
            assert event.uid.value
            assert event.dtstamp.value.tzinfo is not None
        counts.append(len(parsed.vevent_list))
    assert counts[0] == len(references)
    assert counts[1:-1] == [1] * len(references)
    assert counts[-1] > 0


def test_an_unexpected_error_gets_a_plain_page(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("secret detail /feeds/agency/abc.ics")

    monkeypatch.setattr("worker.web.calendars.home_page", broken)
    with serving(app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.text
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["referrer-policy"] == "same-origin"


def test_an_unchanged_feed_is_not_written_again_and_a_change_rewrites_it(
    app: App, tmp_path: Path
) -> None:
    run_import(app, seed("000"))
    assert app.publish_feeds() is True  # the first publication
    first = kept_body(app, ALL)
    assert app.publish_feeds() is False  # nothing changed: nothing built
    moved = tmp_path / "000.txt"
    text = seed("000").read_text(encoding="utf-8")
    moved.write_text(
        text.replace("201710:00 to 11:30 amNorwich", "201713:00 to 14:30Norwich", 1),
        encoding="utf-8",
    )
    run_import(app, moved)
    assert kept_body(app, ALL) == first  # imported, not yet published: still the old file
    assert app.publish_feeds() is True
    changed = kept_body(app, ALL)
    assert changed != first
    assert b"SEQUENCE:1" in changed
