"""A subject access request answered: everything held about one person, from the command
line and the Directory page, found through the data map; nobody else's records, no token
hashes, free text cut to the lines that name them."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from tests.support.console import MANAGER, NURSE, csrf, health_item, partnership, sign_in
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.models import ConsoleAction, Delivery

NAME = "Designated Nurse"  # the nurse's name in the test directory


def acted(app: App, client: httpx.Client) -> None:
    """The nurse signs in, writes a note on an item, and is sent a digest."""
    sign_in(client, app, NURSE)
    page = f"/console/items/{health_item(app)}"
    note = client.post(f"{page}/note", data={"csrftoken": csrf(client.get(page)),
                                             "note": "Audit booked for March"})  # fmt: skip
    assert note.status_code == 303, note.text
    sent = CliRunner().invoke(main, ["send"])
    assert sent.exit_code == 0, sent.output


def held(data: bytes) -> tuple[dict[str, Any], str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return json.loads(archive.read("held.json")), archive.read("summary.html").decode()


def test_everything_held_about_a_person_and_nothing_of_anyone_else(
    app: App, tmp_path: Path
) -> None:
    partnership(app)
    with serving(app) as client:
        acted(app, client)
    with app.sessions() as session:
        digests = session.scalars(select(Delivery).where(Delivery.recipient == NURSE)).all()
    assert digests, "the nurse was sent a digest"
    path = tmp_path / "nurse.zip"
    done = CliRunner().invoke(main, ["person", "export", NURSE.upper(), "--to", str(path)])
    assert done.exit_code == 0, done.output
    assert path.stat().st_mode & 0o777 == 0o600
    data, summary = held(path.read_bytes())
    found = data["held"]
    assert data["person"] == NURSE
    assert NAME in data["names"]
    assert [c["email"] for c in found["contacts"]] == [NURSE]
    assert [e["note"] for e in found["obligation_events"]] == ["Audit booked for March"]
    assert {a["email"] for a in found["console_actions"]} == {NURSE}
    assert {s["email"] for s in found["console_sessions"]} == {NURSE}
    assert {s["email"] for s in found["sign_in_links"]} == {NURSE}
    assert all("token_hash" not in row for row in found["sign_in_links"])
    own = [d for d in found["deliveries"] if d["recipient"] == NURSE]
    assert len(own) == len(digests)
    assert all(isinstance(d["payload"], dict) and d["payload"] for d in own)  # whole
    assert not [k for d in own for k in d["payload"] if k.endswith("_url")]  # but links
    assert "/links/acknowledge/" in json.dumps([d.payload for d in digests])  # as sent
    assert "/links/" not in json.dumps(data)  # signed links act for her: never given
    others = [d for d in found["deliveries"] if d["recipient"] != NURSE]
    assert others, "a manager's digest names the nurse's items"
    assert all(line for d in others for line in d["payload"])  # only lines naming her
    assert all(NAME.lower() in line.lower() or NURSE in line
               for d in others for line in d["payload"])  # fmt: skip
    versions = found["config_versions"]
    assert versions
    assert all(NURSE in "\n".join(v["content"]) or NAME.lower() in "\n".join(
        v["content"]).lower() for v in versions)  # fmt: skip
    assert not any(MANAGER in "\n".join(v["content"]) for v in versions)  # their lines only
    assert "<h1>What the reminders service holds about designated.nurse@example.org</h1>" in summary
    assert "Audit booked for March" in summary


def test_the_business_manager_downloads_it_from_the_directory_page(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        acted(app, client)
        refused = client.post("/console/directory/held", data={
            "csrftoken": csrf(client.get("/console/items")), "email": NURSE})  # fmt: skip
        assert refused.status_code == 403  # not the nurse's to ask for
        sign_in(client, app, MANAGER)
        token = csrf(client.get("/console/directory"))
        odd = client.post("/console/directory/held", data={"csrftoken": token, "email": "x"})
        assert odd.status_code == 422
        answer = client.post("/console/directory/held", data={"csrftoken": token,
                                                              "email": NURSE})  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="held-about-designated.nurse@example.org.zip"')  # fmt: skip
    data, _ = held(answer.content)
    assert [e["note"] for e in data["held"]["obligation_events"]] == ["Audit booked for March"]
    with app.sessions() as session:
        kept = session.scalars(select(ConsoleAction).where(
            ConsoleAction.action == "subject access export")).all()  # fmt: skip
    assert [(k.email, k.subject) for k in kept] == [(MANAGER, NURSE)]
