"""The parsers on documents they have not seen: other layouts, other spellings, bad values."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.helpers import TODAY
from worker.importers import ImportOptions, parse_file
from worker.importers.documents import ParsedPlan, ParsedSheet
from worker.importers.errors import DocumentError
from worker.importers.text import TIME_RANGE, parse_day_first, parse_time_range

THEMES = [
    "Professional curiosity",
    "Fora for discussion and information-sharing",
    "Collaborative working, decision-making and planning",
    "Ownership and accountability: management grip",
]
OPTIONS = ImportOptions(THEMES, r"[A-Z]{3}-\d{4}-[A-Z]\d{3}", ZoneInfo("Europe/London"), TODAY)
SHEET_HEAD = """Management Information Sheet

Safeguarding update for schools

MI Sheet TypeCPD
To Be Completed By: 02/12/2026
MI Number:12/26
Publication Date:01/11/2026 09:30:00
LA Contact:Sam Jones (01632 960111)
Audience:All Staff

Please contact Sam Jones at sam.jones@example.org with any questions.
"""
CAP_HEAD = "Serious Case Review Composite Action Plan March 2026\n\n"
HEADER = "Ref\tSCR Ref\tAction\tLead agency\tTarget date\tProgress\n"


def write(tmp_path: Path, text: str, name: str = "doc.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def sheet(tmp_path: Path, table: str) -> ParsedSheet:
    kind, [parsed] = parse_file(write(tmp_path, SHEET_HEAD + "\n" + table), OPTIONS)
    assert kind == "MI sheet"
    assert isinstance(parsed, ParsedSheet)
    return parsed


def refusal(path: Path) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_file(path, OPTIONS)
    message = str(caught.value)
    assert message.startswith(str(path))
    return message


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("10:00 to 11:30 am", time(10), time(11, 30)),
        ("12:00 to 1:30pm", time(12), time(13, 30)),
        ("9.30 to 11.30", time(9, 30), time(11, 30)),
        ("14:00 to 16:00", time(14), time(16)),
        ("10am to 12pm", time(10), time(12)),
        ("1:00 to 3:00pm", time(13), time(15)),
        ("10:00 to 1:30pm", time(10), time(13, 30)),
        ("9:15 – 10:45", time(9, 15), time(10, 45)),
        ("10:00 to 1:30", time(10), time(13, 30)),
    ],
)
def test_time_ranges(text: str, start: time, end: time) -> None:
    match = re.fullmatch(TIME_RANGE, text)
    assert match is not None
    assert parse_time_range(match, 1, "Time") == (start, end)


@pytest.mark.parametrize("text", ["25:00 to 26:00", "10:75 to 11:00", "13:00pm to 14:00pm"])
def test_impossible_times_are_refused(tmp_path: Path, text: str) -> None:
    table = f"DateTimeVenueReference\nMonday 7 December 2026{text}Town HallTLS-1226-T001\n"
    message = refusal(write(tmp_path, SHEET_HEAD + "\n" + table))
    assert "line 15" in message
    assert "Time" in message


def test_tab_separated_table_with_course_code_header(tmp_path: Path) -> None:
    table = (
        "Date\tTime\tVenue\tCourse Code\n"
        "Monday 7th December 2026\t9.30 to 11.30\tCounty Hall, Room 3\tCPD/26/7\n"
        "Tuesday 8 December 2026\t14:00 to 16:00\tTown Hall\tCPD/26/8\n"
    )
    parsed = sheet(tmp_path, table)
    assert [(s.reference, s.date, s.start, s.venue) for s in parsed.sessions] == [
        ("CPD/26/7", date(2026, 12, 7), time(9, 30), "County Hall, Room 3"),
        ("CPD/26/8", date(2026, 12, 8), time(14), "Town Hall"),
    ]
    assert parsed.contact_email == "sam.jones@example.org"
    assert parsed.due_date == date(2026, 12, 2)


def test_glued_rows_with_an_upper_case_venue(tmp_path: Path) -> None:
    table = (
        "DateTimeVenueReference\n"
        "Friday 4th December 20269.30 to 11.30Kings Lynn PDCTLS-1226-T010\n"
        "Monday 7 December 202610:00 to 11:30 amAmersham HallTLS-1226-T011\n"
    )
    parsed = sheet(tmp_path, table)
    assert [(s.venue, s.reference, s.start) for s in parsed.sessions] == [
        ("Kings Lynn PDC", "TLS-1226-T010", time(9, 30)),
        ("Amersham Hall", "TLS-1226-T011", time(10)),
    ]


def test_a_weekday_that_does_not_match_the_date_is_refused(tmp_path: Path) -> None:
    table = "DateTimeVenueReference\nMonday 8 December 202610:00 to 11:00Town HallTLS-1226-T001\n"
    message = refusal(write(tmp_path, SHEET_HEAD + "\n" + table))
    assert "line 15" in message
    assert "Date" in message
    assert "is a Tuesday" in message


def test_impossible_date_names_line_and_value(tmp_path: Path) -> None:
    text = SHEET_HEAD.replace("02/12/2026", "31/02/2018")
    message = refusal(write(tmp_path, text))
    assert "line 6" in message
    assert "To Be Completed By" in message
    assert "'31/02/2018'" in message


def test_a_table_header_with_no_rows_is_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, SHEET_HEAD + "\nDateTimeVenueReference\n\n"))
    assert "session table header with no rows" in message


def test_unknown_sheet_type_is_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, SHEET_HEAD.replace("TypeCPD", "TypeMemo")))
    assert "MI Sheet Type" in message
    assert "'Memo'" in message


def cap(tmp_path: Path, rows: str, name: str = "cap.txt") -> ParsedPlan:
    text = CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + rows
    _, [parsed] = parse_file(write(tmp_path, text, name), OPTIONS)
    assert isinstance(parsed, ParsedPlan)
    return parsed


def test_cap_with_reordered_columns_and_written_dates(tmp_path: Path) -> None:
    text = (
        "Composite Action Plan for the Board\n"
        "PROFESSIONAL CURIOSITY\t\t\t\t\t\n"
        "Ref\tAction\tSCR Ref\tProgress\tLead agency\tTarget date\n"
        "1.1\tDo a thing\tA & B\tStarted\tPolice\t1 March 2027\n"
        "1.2\tDo another\tC\tNot started\tHealth / Education\t01/04/2027\n"
    )
    _, [parsed] = parse_file(write(tmp_path, text), OPTIONS)
    assert isinstance(parsed, ParsedPlan)
    one, two = parsed.actions
    assert (one.text, one.scr_refs, one.target_date) == ("Do a thing", ("A", "B"), date(2027, 3, 1))
    assert one.theme == "Professional curiosity"
    assert two.lead_agency == "Health / Education"
    assert parsed.title == "Composite Action Plan for the Board"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1.1\tA\tX\tNSCB\t31/02/2017\tp\n", ["line 5", "Target date", "'31/02/2017'"]),
        ("1.1\tA\tX\tNSCB\t01/02/17\tp\n1.1\tB\tY\tNSCB\t01/03/17\tp\n", ["line 6", "duplicate"]),
        ("one\tA\tX\tNSCB\t01/02/17\tp\n", ["line 5", "Ref", "'one'"]),
        ("1.1\tA\t\tNSCB\t01/02/17\tp\n", ["line 5", "Action: missing"]),
        ("1.1\tA\tX\tNSCB\t\tp\n", ["line 5", "Target date: missing"]),
    ],
)
def test_bad_cap_rows(tmp_path: Path, rows: str, expected: list[str]) -> None:
    text = CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + rows
    message = refusal(write(tmp_path, text))
    assert all(part in message for part in expected), message


def test_unknown_theme_is_refused(tmp_path: Path) -> None:
    """In a plan under the directory's themes; one naming none of them has its own."""
    known = "Professional curiosity\t\t\t\t\t\n" + HEADER + "1.1\tA\tX\tNSCB\t01/02/17\tp\n"
    text = (
        CAP_HEAD
        + known
        + "Workforce wellbeing\t\t\t\t\t\n"
        + HEADER
        + "2.1\tA\tY\tNSCB\t01/02/17\n"
    )
    message = refusal(write(tmp_path, text))
    assert "line 6" in message
    assert "unknown theme" in message
    assert "Workforce wellbeing" in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"just a note\nwith two lines\n", "neither a Composite Action Plan"),
        (b"a" * (6 * 1024 * 1024), "too large"),
    ],
)
def test_unusable_files_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert reason in refusal(path)


def test_a_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    assert "cannot read" in refusal(tmp_path / "nowhere.txt")


def test_line_breaks_never_reach_single_line_fields(tmp_path: Path) -> None:
    text = SHEET_HEAD.replace("Safeguarding update", "Safeguarding\x85update\u2028for\x0ball")
    _, [parsed] = parse_file(write(tmp_path, text), OPTIONS)
    assert isinstance(parsed, ParsedSheet)
    assert parsed.title == "Safeguarding update for all for schools"


def test_csv_actions_and_their_errors(tmp_path: Path) -> None:
    header = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"
    good = 'P,1.1,Professional curiosity,"A, B","Do it, well",Police,01/02/2027,\n'
    _, [plan] = parse_file(write(tmp_path, header + good, "a.csv"), OPTIONS)
    assert isinstance(plan, ParsedPlan)
    assert plan.actions[0].scr_refs == ("A", "B")
    assert plan.actions[0].text == "Do it, well"
    bad = write(tmp_path, header + good + "P,1.2,Nope,A,x,Police,01/02/2027,\n", "b.csv")
    assert "line 3" in refusal(bad)
    assert "Nope" in refusal(bad)
    short = write(tmp_path, header + "P,1.3,Professional curiosity\n", "c.csv")
    assert "line 2" in refusal(short)
    assert "3 cells" in refusal(short)


@pytest.mark.parametrize("written", ["Monday", "14 March", "2017", "March 14"])
def test_an_incomplete_target_date_is_refused(tmp_path: Path, written: str) -> None:
    text = (
        CAP_HEAD
        + "Professional curiosity\t\t\t\t\t\n"
        + HEADER
        + f"1.1\tA\tX\tNSCB\t{written}\tp\n"
    )
    message = refusal(write(tmp_path, text))
    assert "line 5" in message
    assert "incomplete date" in message


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("01/06/17", date(2017, 6, 1)),
        ("1/12/2017", date(2017, 12, 1)),
        ("13/01/17", date(2017, 1, 13)),
    ],
)
def test_numeric_dates_are_day_first(written: str, expected: date) -> None:
    assert parse_day_first(written, 1, "Target date") == expected


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("01/13/17", "there is no month 13 (dates are day/month/year)"),
        ("12/31/2017", "there is no month 31"),
        ("31/04/2017", "April 2017 has no day 31"),
        ("29/02/2017", "February 2017 has no day 29"),
    ],
)
def test_a_date_that_only_reads_month_first_is_refused(written: str, reason: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_day_first(written, 4, "Target date")
    assert (caught.value.line, caught.value.field, caught.value.value) == (
        4,
        "Target date",
        written,
    )
    assert reason in caught.value.reason


def test_a_publication_time_keeps_its_day_first_date(tmp_path: Path) -> None:
    head = SHEET_HEAD.replace("01/11/2026 09:30:00", "02/11/2026 14:45")
    _, [parsed] = parse_file(write(tmp_path, head), OPTIONS)
    assert isinstance(parsed, ParsedSheet)
    assert parsed.published_at is not None
    assert (parsed.published_at.date(), parsed.published_at.hour) == (date(2026, 11, 2), 14)


@pytest.mark.parametrize(
    ("target", "refused"),
    [("31/12/1999", True), ("01/01/2000", False), ("21/11/2036", False), ("22/11/2036", True)],
)
def test_target_dates_beyond_the_plausible_range_are_placeholders(
    tmp_path: Path, target: str, refused: bool
) -> None:
    """From 2000 to ten years after the import day (TODAY, 21 November 2026)."""
    row = f"1.1\tA\tWrite the guidance.\tHealth\t{target}\t\n"
    path = write(tmp_path, CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + row)
    if refused:
        assert "Target date: looks like a placeholder" in refusal(path)
    else:
        _, [plan] = parse_file(path, OPTIONS)
        assert isinstance(plan, ParsedPlan)
        assert plan.actions[0].target_date == parse_day_first(target, 1, "x")


def test_invisible_direction_and_zero_width_characters_leave_single_line_fields(
    tmp_path: Path,
) -> None:
    lead = "He\u200balth\u202e"
    row = f"1.1\tA\tWrite the \u2066guidance\u2069.\t{lead}\t01/06/27\t\u200dDone\ufeff\n"
    path = write(tmp_path, CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + row)
    _, [plan] = parse_file(path, OPTIONS)
    assert isinstance(plan, ParsedPlan)
    [action] = plan.actions
    assert (action.lead_agency, action.text, action.progress) == (
        "Health",
        "Write the guidance.",
        "Done",
    )


def test_a_windows_1252_file_is_still_read_as_such(tmp_path: Path) -> None:
    row = "1.1\tA\tWrite the guidance \u2013 caf\u00e9 staff.\tHealth\t01/06/27\t\n"
    text = CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + row
    path = tmp_path / "cp1252.txt"
    path.write_bytes(text.encode("cp1252"))
    _, [plan] = parse_file(path, OPTIONS)
    assert isinstance(plan, ParsedPlan)
    assert plan.actions[0].text == "Write the guidance \u2013 caf\u00e9 staff."


@pytest.mark.parametrize("written", ["01.13.17", "01-13-2017"])
def test_dots_and_dashes_are_day_first_too(tmp_path: Path, written: str) -> None:
    row = f"1.1\tA\tWrite the guidance.\tHealth\t{written}\t\n"
    path = write(tmp_path, CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + row)
    message = refusal(path)
    assert "there is no month 13" in message
    assert f"(value '{written}')" in message
    ok = write(
        tmp_path,
        CAP_HEAD + "Professional curiosity\t\t\t\t\t\n" + HEADER + row.replace(written, "13.01.27"),
        "ok.txt",
    )
    _, [plan] = parse_file(ok, OPTIONS)
    assert isinstance(plan, ParsedPlan)
    assert plan.actions[0].target_date == date(2027, 1, 13)
