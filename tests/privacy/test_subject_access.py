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

from tests.conftest import ROOT
from tests.support.console import MANAGER, NURSE, csrf, health_item, partnership, sign_in
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY, Author, save
from worker.db import transaction
from worker.models import ConsoleAction, Delivery, Obligation
from worker.obligations.events import record_event
from worker.privacy.subject_access import export

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


# Other people, as the directory version below and the notes name them.
OTHERS = {"Kelly Waters": ("kelly.waters@example.org", "01632 960123"),
          "Daniel Halls": ("daniel.halls@example.org", "+44 7700 900456"),
          "Practice Lead": ("practice.lead@example.org", "020 7946 0018")}  # fmt: skip
NURSE_PHONE = "07700 900123"


def a_version_naming_everyone(app: App, by: str = NURSE) -> None:
    """A directory version, saved by `by`, giving the nurse a phone and listing the others
    with theirs (one of them on her line)."""
    text = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")
    text = text.replace("name: Designated Nurse, email: designated.nurse@example.org}",
                        f"name: Designated Nurse, email: {NURSE}, phone: {NURSE_PHONE}}}"
                        "  # cover: Kelly Waters, kelly.waters@example.org")  # fmt: skip
    text = text.replace("name: Practice Lead, email: practice.lead@example.org}",
                        "name: Practice Lead, email: practice.lead@example.org, "
                        f"phone: {OTHERS['Practice Lead'][1]}}}")  # fmt: skip
    entries = "".join(f"  - {{name: {name}, email: {email}, phone: '{phone}', agency: Health}}\n"
                      for name, (email, phone) in OTHERS.items() if name != "Practice Lead")  # fmt: skip
    text = text.replace("la_contacts:\n", "la_contacts:\n" + entries)
    with transaction(app.sessions) as session:
        save(session, DIRECTORY, text, Author(by, "a phone, Kelly Waters' too"),
             app.settings.config_dir)  # fmt: skip
    app.sync_directory()


def notes_naming_everyone(app: App) -> None:
    """The nurse's own note, and the manager's naming her, each naming others in her line."""
    kelly, (daniel, daniel_phone) = OTHERS["Kelly Waters"], OTHERS["Daniel Halls"]
    with transaction(app.sessions) as session:
        item = session.get_one(Obligation, health_item(app))
        record_event(item, "noted", app.today(), NURSE,
                     f"Met Kelly Waters ({kelly[0]}, {kelly[1]}) and Practice Lead; call me on "
                     f"{NURSE_PHONE}")  # fmt: skip
        record_event(item, "noted", app.today(), MANAGER,
                     f"Designated Nurse to ring Daniel Halls on {daniel_phone} ({daniel}); "
                     "Practice Lead copied")  # fmt: skip


def test_an_export_holds_what_is_about_the_person_and_none_of_the_others(app: App) -> None:
    """Names, addresses and phones of others in the same line as hers, in rows she made and
    in directory versions, are "(someone else)"; her own stay."""
    partnership(app)
    a_version_naming_everyone(app)
    with serving(app) as client:
        acted(app, client)
    notes_naming_everyone(app)
    with app.sessions() as session:
        data, summary = held(export(session, NURSE, app.now()).data)
    given = json.dumps(data["held"], ensure_ascii=False)
    for name, (address, phone) in OTHERS.items():
        assert name not in given
        assert address not in given
        assert address not in summary
        assert phone not in given
        assert phone not in summary
    assert NURSE_PHONE in given
    assert NURSE in given
    assert "Met (someone else) ((someone else), (someone else)) and (someone else); call me " \
        f"on {NURSE_PHONE}" in given  # fmt: skip
    assert "Designated Nurse to ring (someone else) on (someone else) ((someone else)); " \
        "(someone else) copied" in given  # fmt: skip
    mine = [v for v in data["held"]["config_versions"] if v["made_by"] == NURSE]
    assert mine
    assert "(someone else)" in json.dumps(mine)


def test_the_business_managers_export_holds_no_other_address_of_the_directory(app: App) -> None:
    """Every version she saved is hers, but the directory in it is not."""
    partnership(app)
    a_version_naming_everyone(app, MANAGER)
    with app.sessions() as session:
        data, summary = held(export(session, MANAGER, app.now()).data)
    addresses = app.directory().addresses() - {MANAGER}
    assert len(addresses) > 20
    given = json.dumps(data, ensure_ascii=False)
    assert [a for a in sorted(addresses) if a in given or a in summary] == []
    assert MANAGER in given


def test_no_message_id_or_provider_id_of_a_digest_is_given(app: App) -> None:
    """They are how a forged delivery report or receipt would name a digest."""
    partnership(app)
    with serving(app) as client:
        acted(app, client)
    with transaction(app.sessions) as session:
        digests = session.scalars(select(Delivery).where(Delivery.recipient == NURSE)).all()
        for digest in digests:
            digest.provider_id = "3f2a9c1b-notify-id"
        ids = [d.message_id for d in digests]
    assert all(ids)
    with app.sessions() as session:
        data, summary = held(export(session, NURSE, app.now()).data)
    given = json.dumps(data)
    assert not [i for i in ids if i and (i.strip("<>") in given or i.strip("<>") in summary)]
    assert "3f2a9c1b-notify-id" not in given
    assert "3f2a9c1b-notify-id" not in summary
    assert all("message_id" not in d and "provider_id" not in d
               for d in data["held"]["deliveries"])  # fmt: skip
