"""MI sheets as the schools portal publishes them: sessions written as sentences, labels run
into their values, unpadded dates. Every session reaches the feed at its London time; a line
that announces one but cannot be read is named, never dropped. Written for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import icalendar
from docx import Document

from tests.support.console import MANAGER, partnership, sign_in
from tests.support.helpers import records, run_import
from tests.support.web import serving
from worker.app import App
from worker.console.overview import due_before_published, unread_sessions
from worker.importers.history import summary
from worker.importers.prose_sessions import prose_sessions

SHEET = """Management Information Sheet

Neglect strategy briefings for designated safeguarding leads

MI Sheet TypeCPD
To Be Completed By:8/4/2026
MI Number:7/26
Publication Date:2/3/2026
LA Contact:Various as attached
AudienceAll Schools

Briefings are offered on these dates:
Tuesday 17th March 2026 – 9.30am-11.30am – Green Park Centre, Swaffham, PE37 7HP
23rd March 2026 – 09.30 to 13.00 – County Hall
The last briefing is on Friday 10 July at County Hall, Norwich: 9:30 – 11:30 and 2:00 – 4:00
"""
UNREADABLE = "A further session will run 10:00 to 12:00, details to follow.\n"
LONDON_STARTS = [  # as written, in London; in UTC on the wire
    (datetime(2026, 3, 17, 9, 30, tzinfo=UTC), "Green Park Centre, Swaffham, PE37 7HP"),
    (datetime(2026, 3, 23, 9, 30, tzinfo=UTC), "County Hall"),
    (datetime(2026, 7, 10, 8, 30, tzinfo=UTC), "County Hall, Norwich"),  # BST
    (datetime(2026, 7, 10, 13, 0, tzinfo=UTC), "County Hall, Norwich"),  # the afternoon
]


def sheet_file(tmp_path: Path, text: str = SHEET) -> Path:
    path = tmp_path / "mi-7-26.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_prose_session_reaches_the_feed_at_its_london_time(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, sheet_file(tmp_path))
    assert result.error is None, result.error
    assert "sessions: 4 new" in summary(result)
    [sheet] = records(app, "mi-sheets")
    assert (sheet["type"], sheet["due"], sheet["published"][:10]) == (
        "CPD", "2026-04-08", "2026-03-02",
    )  # fmt: skip
    app.publish_feeds()
    with serving(app) as client:
        response = client.get("/feeds/sessions.ics")
    calendar = icalendar.Calendar.from_ical(response.content)
    found = sorted((e.decoded("DTSTART").astimezone(UTC), str(e["LOCATION"]))
                   for e in calendar.events)  # fmt: skip
    assert found == LONDON_STARTS
    assert "DTSTART;TZID=Europe/London:20260710T140000" in response.text
    assert "DTEND;TZID=Europe/London:20260710T160000" in response.text


def test_the_same_sheet_again_changes_nothing(app: App, tmp_path: Path) -> None:
    run_import(app, sheet_file(tmp_path))
    before = records(app, "sessions")
    [again] = run_import(app, sheet_file(tmp_path))
    assert "sessions: 0 new, 0 updated, 4 unchanged" in summary(again)
    assert records(app, "sessions") == before


def test_a_session_line_that_cannot_be_read_is_named_and_shown(app: App, tmp_path: Path) -> None:
    [result] = run_import(app, sheet_file(tmp_path, SHEET + UNREADABLE))
    assert result.error is None, result.error
    said = summary(result)
    assert "sessions: 4 new" in said
    assert "1 session line(s) not read: line 16: A further session will run 10:00" in said
    with app.sessions() as session:
        assert unread_sessions(session) == [
            ("7/26", ["line 16: A further session will run 10:00 to 12:00, details to follow."])
        ]
    [corrected] = run_import(app, sheet_file(tmp_path))  # the line mended or taken out
    assert "not read" not in summary(corrected)
    with app.sessions() as session:
        assert unread_sessions(session) == []


def test_a_word_sheet_with_prose_sessions(app: App, tmp_path: Path) -> None:
    document = Document()
    for line in SHEET.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "mi.docx"
    document.save(str(path))
    [result] = run_import(app, path)
    assert result.error is None, result.error
    assert "sessions: 4 new" in summary(result)
    assert {s["venue"] for s in records(app, "sessions")} == {
        "Green Park Centre, Swaffham, PE37 7HP", "County Hall", "County Hall, Norwich",
    }  # fmt: skip


def test_a_date_without_its_year_before_the_publication_is_the_next_year() -> None:
    lines = ["Friday 8 January at the Library, Norwich: 10:00 - 11:30"]
    [found], unread = prose_sessions(lines, "1/27", date(2026, 11, 2))
    assert (found.date, found.start, found.end) == (date(2027, 1, 8), time(10), time(11, 30))
    assert found.reference == "MI1-27-20270108-1000"
    assert unread == []


def test_numbers_that_are_no_times_are_not_sessions() -> None:
    lines = ["Call 01603-729198 or read pages 3-4.", "Tuesday 17 March 2026 in the hall"]
    assert prose_sessions(lines, "7/26", date(2026, 3, 2)) == ([], [])


def test_a_sheet_due_before_it_was_published_is_kept_and_shown(app: App, tmp_path: Path) -> None:
    early = (SHEET.replace("MI Sheet TypeCPD", "MI Sheet TypeInformation")
             .replace("To Be Completed By:8/4/2026", "To Be Completed By:1/3/2026")
             .replace("Publication Date:2/3/2026", "Publication Date:2/3/2026 12:00:00"))  # fmt: skip
    [result] = run_import(app, sheet_file(tmp_path, early))
    assert result.error is None, result.error
    said = summary(result)
    assert "note: To Be Completed By 01/03/2026 is before the sheet's publication date " \
           "02/03/2026: kept as written" in said  # fmt: skip
    assert "note: an Information sheet with a To Be Completed By date" in said
    [sheet] = records(app, "mi-sheets")
    assert (sheet["type"], sheet["due"]) == ("Information", "2026-03-01")
    with app.sessions() as session:
        assert due_before_published(session, app.timezone) == [
            ("7/26", date(2026, 3, 1), date(2026, 3, 2))]  # fmt: skip
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = client.get("/console/").text
    assert "MI sheets to be completed before they were published (1)" in page
    assert "MI sheet 7/26: to be completed by 1 March 2026, published 2 March 2026" in page
