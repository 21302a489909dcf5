"""The feeds as clients written by others read them: ical.js (Thunderbird, Nextcloud) and
libical (Evolution and many more), each working out every session's time through the feed's
own VTIMEZONE, across two years of clock changes; libical's parser and RFC 5546's
restriction check for METHOD:PUBLISH (which asks every event for an ORGANIZER) find nothing
wrong, in the public sessions feed and in an agency's private deadlines feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from click.testing import CliRunner

from tests.conftest import seed
from tests.support.calendars import ical_js, libical
from tests.support.helpers import options, run_import
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.db import transaction
from worker.feeds.timezones import vtimezone
from worker.importers import import_files
from worker.obligations import sync_obligations

LONDON = ZoneInfo("Europe/London")
# Each on a Friday before or a Monday after a change of the clocks, in 2026 and in 2027.
SESSIONS = {
    "TLS-0326-T001": datetime(2026, 3, 27, 10, 0),
    "TLS-0326-T002": datetime(2026, 3, 30, 10, 0),
    "TLS-1026-T003": datetime(2026, 10, 23, 14, 0),
    "TLS-1026-T004": datetime(2026, 10, 26, 14, 0),
    "TLS-0327-T005": datetime(2027, 3, 26, 10, 0),
    "TLS-0327-T006": datetime(2027, 3, 29, 10, 0),
    "TLS-1027-T007": datetime(2027, 10, 29, 14, 0),
    "TLS-1027-T008": datetime(2027, 11, 1, 14, 0),
}
SHEET = """Management Information Sheet

Briefings for Designated Safeguarding Leads

MI Sheet TypeCPD
To Be Completed By: 02/12/2027
MI Number:12/26
Publication Date:01/03/2026 09:30:00
LA Contact:Sam Jones (01632 960111)
Audience:All Staff

DateTimeVenueReference
{rows}

To book a place on one of these sessions, please go to www.training.example.org.
"""


def sheet(folder: Path) -> Path:
    rows = "\n".join(f"{start:%A %-d %B %Y}{start:%H:%M} to {start + timedelta(hours=1):%H:%M}"
                     f"County Hall, Norwich{ref}" for ref, start in SESSIONS.items())  # fmt: skip
    path = folder / "mi-12-26.txt"
    path.write_text(SHEET.format(rows=rows), encoding="utf-8")
    return path


def in_utc(local: datetime) -> str:
    return local.replace(tzinfo=LONDON).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture
def sessions_feed(app: App, tmp_path: Path) -> bytes:
    earlier = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    [result] = import_files([sheet(tmp_path)], app.sessions, options(app), earlier)
    assert result.error is None, result.error
    app.publish_feeds()
    with serving(app) as client:
        response = client.get("/feeds/sessions.ics")
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("reader", [ical_js, libical], ids=["ical.js", "libical"])
def test_every_session_is_at_its_london_time_in_both_years(
    sessions_feed: bytes, reader: object
) -> None:
    assert callable(reader)
    read = reader(sessions_feed)
    expected = {f"{ref}@reminders.example.org": in_utc(start) for ref, start in SESSIONS.items()}
    assert read.starts == expected
    assert read.errors == []


def test_the_sessions_feed_passes_libicals_publish_restrictions(sessions_feed: bytes) -> None:
    calendar = icalendar.Calendar.from_ical(sessions_feed)
    assert calendar["METHOD"] == "PUBLISH"
    for event in calendar.events:
        assert str(event["ORGANIZER"]) == "mailto:reminders@example.org"
    [zone] = calendar.walk("VTIMEZONE")
    rules = {part.name: part["RRULE"].to_ical() for part in zone.subcomponents}
    assert rules == {"DAYLIGHT": b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
                     "STANDARD": b"FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"}  # fmt: skip
    assert "RDATE" not in sessions_feed.decode()
    assert libical(sessions_feed).errors == []
    stripped = re.sub(rb"ORGANIZER[^\r\n]*\r\n", b"", sessions_feed)  # as the feeds were
    assert any("ORGANIZER" in e for e in libical(stripped).errors)  # the check can fail


def test_an_agencys_deadlines_feed_reads_alike_in_both(app: App) -> None:
    run_import(app, seed("002"))
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
    made = CliRunner().invoke(main, ["feeds", "url", "Health"]).output
    token = re.findall(r"/feeds/agency/([A-Za-z0-9_-]+)\.ics", made)[0]
    with serving(app) as client:
        response = client.get(f"/feeds/agency/{token}.ics")
    assert response.status_code == 200
    by_icaljs, by_libical = ical_js(response.content), libical(response.content)
    assert by_libical.errors == []
    assert by_icaljs.starts == by_libical.starts
    assert len(by_icaljs.starts) > 0
    assert all(re.fullmatch(r"\d{8}", start) for start in by_icaljs.starts.values())  # all day


@pytest.mark.parametrize(("key", "first", "last"), [
    ("Europe/London", 2026, 2028), ("America/New_York", 2026, 2027),
    ("Australia/Sydney", 2026, 2027), ("America/Sao_Paulo", 2017, 2020),  # summer time ended 2019
    ("UTC", 2026, 2026),
])  # fmt: skip
def test_the_zone_written_as_rules_agrees_with_the_zone_database(
    key: str, first: int, last: int
) -> None:
    """Noon on the 1st, 8th, 15th and 22nd of every month of those years, placed by ical.js
    and by libical through the VTIMEZONE alone, is where the zone database puts it."""
    tz = ZoneInfo(key)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//EN")
    calendar.add("version", "2.0")
    calendar.add_component(vtimezone(tz, key, first, last))
    expected = {}
    for year in range(first, last + 1):
        for month in range(1, 13):
            for day in (1, 8, 15, 22):
                local = datetime(year, month, day, 12, 0, tzinfo=tz)
                event = icalendar.Event()
                event.add("uid", f"{local:%Y%m%d}@test")
                event.add("dtstamp", datetime(2026, 1, 1, tzinfo=UTC))
                event.add("dtstart", local)
                calendar.add_component(event)
                expected[f"{local:%Y%m%d}@test"] = local.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    feed = calendar.to_ical()
    assert ical_js(feed).starts == expected
    assert libical(feed).starts == expected
