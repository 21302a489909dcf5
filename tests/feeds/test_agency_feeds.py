"""Agency deadline feeds: secret addresses, rotation, today's stage, and clean access logs."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import icalendar
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import seed, use_la_contacts
from tests.support.helpers import run_import
from tests.support.web import BST_SHEET, bst_sheet, serve_process, serving
from worker.app import App
from worker.cli import main
from worker.db import transaction, upgrade
from worker.models import AgencyFeed
from worker.obligations import assess, record_event, stream, sync_obligations
from worker.settings import load_settings

TOKEN = re.compile(r"/feeds/agency/([A-Za-z0-9_-]+)\.ics")


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def token_from(output: str) -> str:
    found = TOKEN.findall(output)
    assert len(found) == 2, output  # the https:// and webcal:// lines
    assert found[0] == found[1]
    return str(found[0])


def synced(app: App) -> None:
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())


def deadlines(response: httpx.Response) -> list[icalendar.Event]:
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    return list(calendar.events)


def test_rotating_a_token_stops_the_old_address_at_once(app: App) -> None:
    run_import(app, seed("002"))
    synced(app)
    code, made = cli("feeds", "url", "health")  # aliases and any case name the agency
    assert code == 0, made
    old = token_from(made)
    assert f"http://localhost:8000/feeds/agency/{old}.ics" in made
    assert f"webcal://localhost:8000/feeds/agency/{old}.ics" in made
    code, again = cli("feeds", "url", "Health")
    assert code == 0, again
    assert token_from(again) == old  # made again from the nonce and the signing key
    with app.sessions() as session:
        [row] = session.scalars(select(AgencyFeed))
        assert row.token_hash == hashlib.sha256(old.encode()).hexdigest()  # only the hash
        assert row.nonce is not None
        assert old not in row.nonce
    with serving(app) as client:
        assert client.get(f"/feeds/agency/{old}.ics").status_code == 200
        code, rotated = cli("feeds", "rotate", "NHS")
        assert code == 0, rotated
        new = token_from(rotated)
        gone = client.get(f"/feeds/agency/{old}.ics")
        works = client.get(f"/feeds/agency/{new}.ics")
        guessed = client.get("/feeds/agency/" + "A" * 43 + ".ics")
    assert new != old
    assert (gone.status_code, works.status_code, guessed.status_code) == (404, 200, 404)
    assert gone.text == guessed.text  # an old token and a guess look the same
    assert works.headers["cache-control"].startswith("private")
    assert works.headers["referrer-policy"] == "same-origin"
    code, listed = cli("feeds", "list")
    assert code == 0
    assert "1 of 8 agencies have a deadline calendar" in listed
    assert cli("feeds", "rotate", "Fire Service")[0] == 1


def test_deadlines_are_all_day_events_showing_todays_stage(app: App) -> None:
    run_import(app, seed("002"))
    synced(app)
    token = token_from(cli("feeds", "url", "Health")[1])
    today = app.today()
    with app.sessions() as session:
        health = [a for a in assess(session, app.rules(), today) if a.owner.label == "Health"]
    with serving(app) as client:
        events = deadlines(client.get(f"/feeds/agency/{token}.ics"))
    assert len(events) == len(health) > 0
    by_ref = {str(e["SUMMARY"]).split(" ", 3)[-2]: e for e in events}
    for found in health:
        assert found.row.action is not None
        event = by_ref[found.row.action.ref]
        assert str(event["SUMMARY"]).startswith(f"[{found.decision.stage_name}] CAP ")
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is date
        assert start == found.decision.target
        assert end == start + timedelta(days=1)
        assert event["TRANSP"] == "TRANSPARENT"
        assert "Owner: Health" in str(event["DESCRIPTION"])
        assert str(event["UID"]).endswith("@reminders.example.org")


def test_an_acknowledgement_shows_and_the_date_moves_on(app: App) -> None:
    run_import(app, seed("002"))
    synced(app)
    token = token_from(cli("feeds", "url", "Health")[1])
    path = f"/feeds/agency/{token}.ics"
    with serving(app) as client:
        before = client.get(path)
        with transaction(app.sessions) as session:
            row = next(r for r in stream(session) if r.agency and r.agency.name == "Health")
            by = "designated.nurse@example.org"
            record_event(row, "acknowledged", app.today(), by, "in hand")
        after = client.get(path)
    changed = [e for e in deadlines(after) if "(paused)" in str(e["SUMMARY"])]
    assert len(changed) == 1
    assert "Escalation paused until" in str(changed[0]["DESCRIPTION"])
    assert parsedate_to_datetime(after.headers["last-modified"]) >= parsedate_to_datetime(
        before.headers["last-modified"]
    )
    assert after.headers["etag"] != before.headers["etag"]
    assert [e for e in deadlines(before) if "(paused)" in str(e["SUMMARY"])] == []


def test_mi_deadlines_of_an_la_contact_are_in_their_agencys_feed(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory lists Sam Jones as an LA contact of Education."""
    use_la_contacts(app, monkeypatch, tmp_path / "config", {"Sam Jones": "sam.jones@example.org"})
    sheet = BST_SHEET.replace("Audience:All Staff", "Audience:Governors")
    run_import(app, bst_sheet(tmp_path, sheet))
    synced(app)
    token = token_from(cli("feeds", "url", "Education")[1])
    with serving(app) as client:
        [event] = deadlines(client.get(f"/feeds/agency/{token}.ics"))
    assert "MI 12/26: Briefings for Designated Safeguarding Leads" in str(event["SUMMARY"])
    assert event.decoded("DTSTART") == date(2026, 12, 2)


def test_no_token_reaches_the_access_log(app: App, tmp_path: Path) -> None:
    run_import(app, seed("002"))
    synced(app)
    token = token_from(cli("feeds", "url", "Health")[1])
    log = tmp_path / "serve.log"
    env = {"REMINDERS_DATABASE_URL": app.settings.database_url}
    with serve_process(env, log) as client:
        assert client.get(f"/feeds/agency/{token}.ics").status_code == 200
        assert client.get(f"/feeds/agency/{token}x.ics?{token}").status_code == 404
        assert client.get(f"/links/acknowledge/{token}.abc").status_code == 400
        doubled = client.build_request("GET", "/")
        doubled.url = doubled.url.copy_with(path=f"//feeds/agency/{token}.ics")  # not routed
        assert client.send(doubled).status_code == 404
        assert client.get(f"/feeds/agency/x/{token}").status_code == 404
        assert client.get("/feeds/sessions.ics", params={"venue": "Norwich"}).status_code == 200
    written = log.read_text(encoding="utf-8")
    assert token not in written
    assert '"GET /feeds/agency/***.ics HTTP/1.1" 200' in written
    assert '"GET /feeds/agency/***.ics?*** HTTP/1.1" 404' in written
    assert '"GET //feeds/agency/*** HTTP/1.1" 404' in written
    assert '"GET /links/acknowledge/*** HTTP/1.1" 400' in written
    assert '"GET /feeds/sessions.ics?venue=Norwich HTTP/1.1" 200' in written


def test_broken_configuration_gets_a_plain_503(app: App, tmp_path: Path) -> None:
    """The versions in force were checked before they were saved, so broken files beside
    them change nothing; a server with no version and broken files says so plainly."""
    run_import(app, seed("002"))
    synced(app)
    token = token_from(cli("feeds", "url", "Health")[1])
    config = tmp_path / "config"
    shutil.copytree(app.settings.config_dir, config)
    (config / "escalation.yaml").write_text("stages: [oops\n", encoding="utf-8")
    (config / "directory.yaml").write_text("partnership: [\n", encoding="utf-8")
    beside = App(load_settings(config_dir=config))
    fresh = f"sqlite:///{tmp_path / 'never-initialised.db'}"
    never_good = App(load_settings(config_dir=config, database_url=fresh))
    upgrade(never_good.engine)
    try:
        with serving(beside) as client:
            feed = client.get(f"/feeds/agency/{token}.ics")
            home = client.get("/")
        with serving(never_good) as client:
            home_never_good = client.get("/")
    finally:
        beside.close()
        never_good.close()
    assert (feed.status_code, home.status_code) == (200, 200)
    assert home_never_good.status_code == 503
    assert "Temporarily unavailable" in home_never_good.text
