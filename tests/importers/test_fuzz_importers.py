"""The importers fuzzed with hypothesis (pure: no database).

Whatever the file holds, `parse_file` either returns parsed documents or raises a
DocumentError naming the file, never any other exception; and no single-line field of what it
returns (titles, names, venues, refs, ...) carries a line break or control character.

Inputs: random text, random bytes, documents shaped like a CAP, an MI sheet or a CSV file with
random cells, and the partnership's own documents mutated (lines deleted, duplicated, swapped;
CR, NUL, NEL, U+2028, U+2029, tabs and other characters inserted).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, SEEDS
from tests.support.helpers import TODAY
from worker.directory.entries import load_directory
from worker.importers import ImportOptions, parse_file
from worker.importers.documents import (
    Parsed,
    ParsedBriefing,
    ParsedPlan,
    ParsedSession,
    ParsedSessionList,
    ParsedSheet,
)
from worker.importers.errors import DocumentError

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # Each example writes a file (into one folder for the module) and parses it.
    suppress_health_check=[HealthCheck.too_slow],
)
OPTIONS = ImportOptions(
    load_directory(ROOT / "config" / "directory.yaml").themes,
    r"[A-Z]{3}-\d{4}-[A-Z]\d{3}",
    ZoneInfo("Europe/London"),
    TODAY,
)
BREAKS = ("\r", "\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c")
# Characters a line break can hide behind, and the ones the parsers split or match on.
TRICKY = ["\r", "\n", "\r\n", "\x00", "\x85", "\u2028", "\u2029", "\t", "\x0b", "\x0c", "\x1c",
          "\ufeff", "\u200b", "\xa0", " ", "/", ":", ".", ",", '"', "(", ")", "-", "\u2013", "0",
          "1", "9", "31", "25", "am", "pm", "é", "\U0001f600", "\ud800", "<script>"]  # fmt: skip
SEED_DOCUMENTS = sorted(SEEDS.glob("*.txt")) + sorted((ROOT / "examples").glob("*.*"))


class Tally:
    """How the fuzzed inputs fared, printed at the end of the module (pytest -s)."""

    started = 0
    parsed = 0
    refused = 0


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[None]:
    yield
    unexpected = Tally.started - Tally.parsed - Tally.refused
    print(
        f"\nfuzz: {Tally.started} inputs, {Tally.parsed} parsed, {Tally.refused} refused, "
        f"{unexpected} unexpected"
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def single_line(value: str, what: str) -> None:
    assert not any(b in value for b in BREAKS), f"{what}: {value!r}"
    controls = [c for c in value if unicodedata.category(c) in {"Cc", "Zl", "Zp"}]
    assert not controls, f"{what}: {value!r}"
    assert value == value.strip(), f"{what}: {value!r}"


def check_fields(parsed: Parsed) -> None:
    if isinstance(parsed, ParsedPlan):
        check_plan(parsed)
    elif isinstance(parsed, ParsedSheet):
        check_sheet(parsed)
    elif isinstance(parsed, ParsedBriefing):
        single_line(parsed.review, "review")
        for recommendation in parsed.recommendations:
            single_line(recommendation.text, "recommendation")
    else:
        assert isinstance(parsed, ParsedSessionList)
        for number, session in parsed.sessions:
            single_line(number, "MI number")
            check_session(session)
            if session.booking_url is not None:
                single_line(session.booking_url, "booking URL")


def check_plan(plan: ParsedPlan) -> None:
    single_line(plan.title, "plan title")
    for a in plan.actions:
        for name in ("ref", "theme", "text", "lead_agency", "progress"):
            single_line(getattr(a, name), f"action {name}")
        for scr in a.scr_refs:
            single_line(scr, "SCR ref")


def check_sheet(sheet: ParsedSheet) -> None:
    for name in ("number", "title", "sheet_type", "contact_name", "contact_phone",
                 "contact_email", "audience", "booking_url"):  # fmt: skip
        value = getattr(sheet, name)
        if value is not None:
            single_line(value, f"MI sheet {name}")
    for link in sheet.links:
        single_line(link, "link")
    for session in sheet.sessions:
        check_session(session)


def check_session(session: ParsedSession) -> None:
    single_line(session.reference, "session reference")
    single_line(session.venue, "session venue")


def outcome(path: Path) -> tuple[str, list[Parsed]] | DocumentError:
    try:
        return parse_file(path, OPTIONS)
    except DocumentError as exc:
        return exc


def attempt(path: Path, content: bytes) -> None:
    """The property: parsed documents with clean fields, or a DocumentError naming the file.
    Any other exception escapes and fails the test, with hypothesis's smallest example."""
    Tally.started += 1
    path.write_bytes(content)
    result = outcome(path)
    if isinstance(result, DocumentError):
        Tally.refused += 1
        assert result.file == str(path)
        assert str(result).startswith(str(path))
        assert result.reason
        return
    Tally.parsed += 1
    kind, documents = result
    assert kind
    assert documents
    for parsed in documents:
        check_fields(parsed)


def encoded(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


@FUZZ
@given(text=st.text(max_size=3000))
def test_random_text(folder: Path, text: str) -> None:
    attempt(folder / "random.txt", encoded(text))


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(folder: Path, data: bytes) -> None:
    attempt(folder / "random.bin", data)


# Cells that look like what the parsers expect, nearly.
DATES = st.sampled_from(["01/06/17", "1/12/2017", "31/02/2017", "00/00/00", "29/02/2100",
                         "1 June 2017", "Friday 13th May 2016", "Monday 13th May 2016",
                         "Ongoing", "ongoing", "", "99/99/9999", "1 Smarch 2017", "June",
                         "1 June 99999999999999999999", "٠١/٠٢/٢٠١٧"])  # fmt: skip
TIMES = st.sampled_from(["10:00 to 11:30 am", "12:00 to 1:30pm", "9.30 to 11.30", "25:00 to 26:00",
                         "13:00pm to 14:00pm", "0am to 1am", "12:00 to 12:00", "10:75 to 11:00",
                         "11 to 10", "99 to 99", "9:15 \u2013 10:45"])  # fmt: skip
WORDS = st.one_of(
    st.sampled_from(["NSCB", "Health", "Health/NSCB", "Police", "Unknown Agency", "1.1", "4.10",
                     "Norwich PDC", "TLS-0217-T035", "Complete", "K,O,P", "M (and All)", ""]),
    st.text(max_size=40),
    st.lists(st.sampled_from(TRICKY), max_size=6).map("".join),
)  # fmt: skip
HEADER = "Ref\tSCR Ref\tAction\tLead agency\tTarget date\tProgress"


@st.composite
def cap_documents(draw: st.DrawFn) -> str:
    themes = st.sampled_from([*OPTIONS.themes, "PROFESSIONAL CURIOSITY", "Workforce wellbeing"])
    lines = [draw(st.sampled_from(["Composite Action Plan 2017", "Plan", ""]))]
    for _ in range(draw(st.integers(1, 3))):
        lines += [draw(themes) + "\t" * draw(st.integers(0, 5)), HEADER]
        for _ in range(draw(st.integers(0, 5))):
            ref = draw(st.one_of(st.sampled_from(["1.1", "1.2", "", "2.10", "x"]), WORDS))
            cells = [ref, draw(WORDS), draw(WORDS), draw(WORDS), draw(DATES), draw(WORDS)]
            lines.append("\t".join(cells[: draw(st.integers(1, 7))]))
    return "\n".join(lines)


@st.composite
def mi_documents(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["Management Information Sheet", ""])), draw(WORDS)]
    labels = ["MI Sheet Type", "To Be Completed By", "MI Number", "Publication Date",
              "LA Contact", "Audience", "Links"]  # fmt: skip
    values = {
        "MI Sheet Type": st.sampled_from(["Action", "CPD", "Information", "Memo"]),
        "To Be Completed By": DATES,
        "MI Number": st.sampled_from(["3/17", "71/16", "3/2017", "x", ""]),
        "Publication Date": DATES.map(lambda d: f"{d} 12:00:00"),
        "LA Contact": WORDS.map(lambda w: f"{w} (01603 729198)"),
    }
    for label in draw(st.permutations(labels)):
        glue = draw(st.sampled_from(["", ":", ": ", "\t"]))
        lines.append(f"{label}{glue}{draw(values.get(label, WORDS))}")
    lines += [
        "",
        draw(st.sampled_from(["DateTimeVenueReference", "Date\tTime\tVenue\tCourse Code"])),
    ]
    for _ in range(draw(st.integers(0, 4))):
        cells = [draw(DATES), draw(TIMES), draw(WORDS), draw(WORDS)]
        lines.append(draw(st.sampled_from(["", "\t"])).join(cells))
    lines += ["", draw(WORDS) + " www.example.org/book to book, limited to one delegate"]
    return "\n".join(lines)


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    actions = draw(st.booleans())
    header = (
        "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress"
        if actions
        else "mi_number,reference,date,start,end,venue,delegate_limit,booking_url"
    )
    cell = st.one_of(WORDS, DATES, st.sampled_from(["10:00", "25:00", "9.30", '"a,b"', '"', "0"]))
    rows = [
        ",".join(draw(st.lists(cell, min_size=0, max_size=9)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    return "\n".join([header, *rows])


@FUZZ
@given(text=st.one_of(cap_documents(), mi_documents(), csv_documents()))
def test_documents_shaped_like_the_formats(folder: Path, text: str) -> None:
    attempt(folder / "shaped.txt", encoded(text))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed or sample document with a few lines deleted, duplicated or swapped, and a few
    characters inserted."""
    source = draw(st.sampled_from(SEED_DOCUMENTS))
    lines = source.read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "insert"]))
        if operation == "delete" and len(lines) > 1:
            del lines[i]
        elif operation == "duplicate":
            lines.insert(j, lines[i])
        elif operation == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(TRICKY)) + lines[i][at:]
    return encoded("\n".join(lines))


@FUZZ
@given(content=mutated())
def test_mutated_seed_documents(folder: Path, content: bytes) -> None:
    attempt(folder / "mutated.txt", content)


def test_every_seed_and_sample_document_passes_the_same_checks(folder: Path) -> None:
    """The unmutated documents: the baseline the mutations start from."""
    assert len(SEED_DOCUMENTS) >= 10
    for path in SEED_DOCUMENTS:
        attempt(folder / path.name, path.read_bytes())
