"""What a document may bring back from its reader, and an upload from all of its documents:
every format (text and web pages too) read apart within its limits, its lines and characters
bounded, each document read once per request, and an upload's documents within the upload's
budget together. Each refusal names the limit; the documents before it stand."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.console.test_console_column_maps import choose, log_bytes
from tests.console.test_console_imports import upload
from tests.support.console import MANAGER, sign_in
from tests.support.web import serving
from worker.app import App
from worker.importers import reading
from worker.importers.errors import DocumentError
from worker.importers.limits import Limits
from worker.importers.read import Read
from worker.importers.reading import Reading
from worker.importers.sources import read_source
from worker.importers.web_page import html_lines


def lines(count: int, width: int = 10) -> bytes:
    return "".join(f"{n:0{width}d}\n" for n in range(count)).encode()


def test_a_text_document_is_held_to_its_lines_and_characters() -> None:
    assert len(read_source(lines(50), Limits(lines=60)).lines) == 51
    with pytest.raises(DocumentError, match="has more than 40 lines as read; that is the limit"):
        read_source(lines(50), Limits(lines=40))
    with pytest.raises(DocumentError, match="more than 300 characters of text"):
        read_source(lines(50), Limits(characters=300))


def test_a_web_page_is_held_to_its_lines_in_its_reader() -> None:
    page = ("<!DOCTYPE html><html><body>" + "<p>x" * 500).encode()
    with pytest.raises(DocumentError, match="has more than 100 lines as read"):
        read_source(page, Limits(lines=100))


def test_a_page_of_unclosed_tags_reads_as_its_lines() -> None:
    """Tags never closed, or closed without being opened, cost nothing more than their
    text: each paragraph a line, as before."""
    page = "<html><body><main>" + "<p>x</div>" * 3000 + "</main>" + "</p>" * 100
    found = html_lines(page)
    assert [line for line in found.lines if line] == ["x"] * 3000
    assert html_lines("<main><p>a<p>b</main><p>outside").lines == ["a", "b", ""]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of each document the console's uploads read."""
    read: list[int] = []

    def counting(data: bytes, limits: Limits) -> Read:
        read.append(len(data))
        return read_source(data, limits)

    monkeypatch.setattr(reading, "read_source", counting)
    return read


def test_an_uploads_documents_are_each_read_once_within_its_budget(counted: list[int]) -> None:
    upload = Reading(Limits(upload_lines=250))
    first, second, third = lines(100), lines(100, 11), lines(100, 12)
    assert upload(first).lines == upload(first).lines
    assert len(upload(second).lines) == 101
    for _ in range(2):
        with pytest.raises(DocumentError, match="brings this upload to 303 lines as read; the "
                           "limit for one upload is 250; import it in an upload of its own"):  # fmt: skip
            upload(third)
    assert counted == [len(first), len(second), len(third)]
    assert upload(first).lines[-2] == "0000000099"  # the documents before it stand


def test_an_upload_out_of_time_refuses_the_rest_and_says_so() -> None:
    upload = Reading(Limits(upload_seconds=0.0))
    with pytest.raises(DocumentError, match="before it took the 0 s an upload's documents may"):
        upload(lines(3))


def test_an_uploads_characters_are_counted_together() -> None:
    upload = Reading(Limits(upload_characters=1500))
    upload(lines(100))
    with pytest.raises(DocumentError, match="brings this upload to 1,901 characters of text"):
        upload(lines(100, 9) + b"x\n")


def test_a_plan_nobody_named_is_read_once_per_request(
    app: App, tmp_path: Path, counted: list[int]
) -> None:
    """Its dry run, its tables to choose columns in, and the morning after each asked for it;
    it was read for each until the request kept what it read."""
    data = log_bytes(tmp_path)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("log.txt", data))
        assert "Say which column holds what" in html.unescape(preview.text)
        assert counted == [len(data)]
        mapped = choose(client, preview)
        assert mapped.status_code == 200, mapped.text
        assert counted == [len(data)] * 2
