"""Feeds kept as files: rebuilt atomically, served without the database, kept per filter and
per agency per day, and written again when what they show changes."""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from tests.conftest import seed
from tests.feeds.test_agency_feeds import deadlines, synced, token_from
from tests.support.helpers import kept_body, kept_keys, run_import
from tests.support.web import BST_SHEET, bst_sheet, serving
from worker.app import AGENCY, SESSIONS, App
from worker.cli import main
from worker.delivery.tick import run_tick
from worker.feeds import files as feed_files
from worker.feeds.agency import deadline_feed
from worker.feeds.files import Feed, FeedFiles
from worker.feeds.public import ALL, SessionFilter, sessions_key
from worker.web import calendars

CHANGED = datetime(2026, 11, 20, 9, tzinfo=UTC)


def body_of(size: int, fill: bytes) -> bytes:
    return (b"BEGIN:VCALENDAR\r\n" + fill * size)[:size]


def publish_in_turn(folder: str, bodies: list[bytes], rounds: int) -> None:
    """Another process rebuilding the feed again and again, each time a new generation."""
    files = FeedFiles(Path(folder))
    for n in range(rounds):
        with files.locked():
            feed = Feed("all", bodies[n % len(bodies)], CHANGED + timedelta(minutes=n))
            files.put(f"generation-{n}", ALL, feed)
            files.publish(f"generation-{n}")
        time.sleep(0.002)


@contextmanager
def rebuilding(folder: Path, bodies: list[bytes], rounds: int) -> Iterator[Any]:
    writer = multiprocessing.get_context("spawn").Process(
        target=publish_in_turn, args=(str(folder), bodies, rounds)
    )
    writer.start()
    try:
        yield writer
    finally:
        writer.join(timeout=120)
    assert writer.exitcode == 0


def test_a_rebuilt_feed_replaces_the_old_one_atomically(tmp_path: Path) -> None:
    """While another process publishes two bodies in turn, every read is one whole body,
    with the ETag of exactly those bytes."""
    files = FeedFiles(tmp_path / "sessions")
    bodies = [body_of(2_000_000, b"A" * 75 + b"\r\n"), body_of(3_000_000, b"B" * 75 + b"\r\n")]
    tags = {f'"{hashlib.sha256(b).hexdigest()}"' for b in bodies}
    publish_in_turn(str(files.folder), bodies, 1)
    seen: list[str] = []
    with rebuilding(files.folder, bodies, 300) as writer:
        while writer.is_alive():
            kept = files.find(ALL)
            assert kept is not None  # never "no feed" while one is being replaced
            with kept.file as file:
                data = file.read()
            assert len(data) == kept.size
            assert f'"{hashlib.sha256(data).hexdigest()}"' == kept.etag
            seen.append(kept.etag)
    assert set(seen) == tags  # both bodies were read while they were being swapped
    assert len(list((files.folder / "bodies").iterdir())) == 1  # the old one tidied away
    assert [p.name for p in files.generations()] == ["generation-299"]


def test_through_http_the_etag_always_names_the_bytes_sent(app: App) -> None:
    files = app.feed_files(SESSIONS)
    bodies = [body_of(1_500_000, b"C" * 75 + b"\r\n"), body_of(2_500_000, b"D" * 75 + b"\r\n")]
    publish_in_turn(str(files.folder), bodies, 1)
    answers = []
    with serving(app) as client, rebuilding(files.folder, bodies, 200) as writer:
        while writer.is_alive():
            response = client.get("/feeds/sessions.ics")
            assert response.status_code == 200
            answers.append(response)
    assert len({a.headers["etag"] for a in answers}) == 2
    for answer in answers:
        assert answer.headers["etag"] == f'"{hashlib.sha256(answer.content).hexdigest()}"'
        assert int(answer.headers["content-length"]) == len(answer.content)


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(app.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", note)


def test_a_kept_feed_is_served_without_asking_the_database(app: App, tmp_path: Path) -> None:
    run_import(app, bst_sheet(tmp_path))
    assert app.publish_feeds()
    with serving(app) as client:
        client.get("/feeds/sessions.ics", params={"venue": "Kings Lynn"})  # builds, keeps
        with statements(app) as seen:
            full = client.get("/feeds/sessions.ics")
            again = client.get(
                "/feeds/sessions.ics", headers={"If-None-Match": full.headers["etag"]}
            )
            since = client.get(
                "/feeds/sessions.ics", headers={"If-Modified-Since": full.headers["last-modified"]}
            )
            venue = client.get("/feeds/sessions.ics", params={"venue": "KINGS  lynn "})
            head = client.head("/feeds/sessions.ics")
    assert seen == []
    assert (full.status_code, again.status_code, since.status_code) == (200, 304, 304)
    assert b"TLS-0326-T001" in full.content
    assert venue.status_code == 200
    assert b"BEGIN:VEVENT" in venue.content
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == full.headers["etag"]


def test_an_import_on_the_command_line_publishes_the_feed(app: App, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(bst_sheet(tmp_path))])
    assert result.exit_code == 0, result.output
    assert b"TLS-0326-T001" in kept_body(app, ALL)


def test_the_tick_publishes_a_change_no_one_published(app: App, tmp_path: Path) -> None:
    run_import(app, seed("000"))  # as a path that does not publish would leave it
    assert app.feed_files(SESSIONS).current() is None
    queued: list[int] = []
    run_tick(app, app.now(), queued.append)
    assert b"BEGIN:VEVENT" in kept_body(app, ALL)
    assert app.publish_feeds() is False  # the tick left it current


def test_a_change_retires_the_kept_filters_and_they_are_built_again(
    app: App, tmp_path: Path
) -> None:
    run_import(app, bst_sheet(tmp_path))
    app.publish_feeds()
    files = app.feed_files(SESSIONS)
    with serving(app) as client:
        before = client.get("/feeds/sessions.ics", params={"mi": "12/26"})
        first = files.current()
        moved = BST_SHEET.replace("202610:00 to 11:30 amCounty", "202613:00 to 14:30County", 1)
        run_import(app, bst_sheet(tmp_path, moved))
        assert app.publish_feeds()
        assert not (files.folder / str(first)).exists()  # the old generation is gone
        after = client.get("/feeds/sessions.ics", params={"mi": "12/26"})
    assert after.content != before.content
    assert after.headers["etag"] != before.headers["etag"]
    assert b"SEQUENCE:1" in after.content
    assert sessions_key(SessionFilter(mi="12/26")) in kept_keys(app)


def test_past_its_limit_a_generation_serves_filters_without_keeping_them(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_files, "MAX_KEYS", 2)
    run_import(app, bst_sheet(tmp_path))
    app.publish_feeds()
    with serving(app) as client:
        answers = [
            client.get("/feeds/sessions.ics", params={"code": c}) for c in ["TLS-0", "TLS-1"]
        ]
    assert [a.status_code for a in answers] == [200, 200]
    assert len(kept_keys(app)) == 2  # the whole feed and the first filter


def test_an_agency_feed_is_kept_for_the_day_and_built_again_the_next(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(app, seed("002"))
    synced(app)
    result = CliRunner().invoke(main, ["feeds", "url", "Health"])
    path = f"/feeds/agency/{token_from(result.output)}.ics"
    built: list[str] = []

    def counted(*args: Any) -> Feed:
        built.append("built")
        return deadline_feed(*args)

    monkeypatch.setattr(calendars, "deadline_feed", counted)
    with serving(app) as client:
        first = client.get(path)
        again = client.get(path)
        assert len(built) == 1  # the second came from the kept file
        app.settings = app.settings.model_copy(update={"clock_offset": timedelta(days=1)})
        tomorrow = client.get(path)
    assert len(built) == 2
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert deadlines(tomorrow)
    assert len(list(app.feed_files(AGENCY).generations())) == 1  # yesterday's removed
    bodies = list((app.feed_files(AGENCY).folder / "bodies").iterdir())
    assert bodies
    assert all(b.stat().st_mode & 0o077 == 0 for b in bodies)  # the agency's deadlines: private
