"""The console's directory page: who holds which role, someone leaving, refused addresses."""

from __future__ import annotations

import html
import re
from datetime import date

import httpx
from sqlalchemy import select

from tests.conftest import new_version
from tests.support.console import CHAIR, MANAGER, NURSE, csrf, partnership, post, sign_in
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY, history
from worker.db import transaction
from worker.delivery.planning import ledger_row
from worker.directory.undeliverable import mark
from worker.mail.digest import Digest
from worker.models import ConsoleAction, Delivery, DeliveryState, UndeliverableAddress

PAGE = "/console/directory"
SUCCESSOR = "new.nurse@example.org"


def refuse(app: App, address: str = NURSE) -> None:
    """`address` refused for good on 2 March, its 3 March digest held."""
    with transaction(app.sessions) as session:
        rows = []
        for day, state in [(date(2026, 3, 2), DeliveryState.FAILED),
                           (date(2026, 3, 3), DeliveryState.HELD)]:  # fmt: skip
            digest = Digest("Someone", address, day.isoformat(), "NSCP", ())
            row = ledger_row(digest)
            row.state = state
            rows.append(row)
        session.add_all(rows)
        session.flush()
        mark(session, rows[0], "550 5.1.1 no such user")


def test_the_directory_and_a_refused_address_are_shown(app: App) -> None:
    refuse(app)
    with serving(app) as client:
        sign_in(client, app, CHAIR)
        shown = client.get(PAGE).text
        overview = client.get("/console/").text
    assert "Designated Nurse</td><td>designated.nurse@example.org" in shown
    assert '<td><code>550 5.1.1 no such user</code></td><td class="num">1</td>' in shown
    assert "Correct and send what was held" not in shown  # the chair looks, the manager acts
    assert "Addresses the mail relay refused (1)" in overview


def test_a_refused_address_corrected_in_the_console(app: App) -> None:
    refuse(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        refused = post(client, f"{PAGE}/correct", PAGE, address=NURSE, corrected=SUCCESSOR,
                       reason=" ")  # fmt: skip
        assert refused.status_code == 422
        done = post(client, f"{PAGE}/correct", PAGE, address=NURSE, corrected=SUCCESSOR,
                    reason="a typo in the address")  # fmt: skip
        assert done.status_code == 303
        notice = client.get(done.headers["location"]).text
    assert f"{NURSE} corrected to {SUCCESSOR}" in notice
    with app.sessions() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.period)).all()
        assert [(r.recipient, r.state) for r in rows] == [(SUCCESSOR, DeliveryState.PENDING)] * 2
        [corrected] = session.scalars(select(UndeliverableAddress))
        assert (corrected.corrected_to, corrected.corrected_by) == (SUCCESSOR, MANAGER)
        [newest, _] = history(session, DIRECTORY)
        assert (newest.made_by, newest.client) == (MANAGER, "127.0.0.1")
        assert newest.reason == f"{NURSE} replaced by {SUCCESSOR}: a typo in the address"
        action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
        assert action is not None
        assert (action.action, action.subject) == ("address corrected", f"{NURSE} → {SUCCESSOR}")


def test_someone_leaves_and_their_successor_holds_every_role(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, NURSE)
        assert client.get("/console/mine").status_code == 200
        leaving = httpx.Cookies(client.cookies)
        client.cookies.clear()
        sign_in(client, app, MANAGER)
        done = post(client, f"{PAGE}/replace", PAGE, leaving=NURSE, successor=SUCCESSOR,
                    name="Nadia Nurse", reason="retired at the end of November")  # fmt: skip
        assert done.status_code == 303
        assert "Directory version 2 saved" in client.get(done.headers["location"]).text
        client.cookies = leaving
        assert client.get("/console/mine").status_code == 303  # signed out: sessions ended
        client.cookies.clear()
        sign_in(client, app, SUCCESSOR)
        mine = client.get("/console/mine").text
    assert "Signed in as Nadia Nurse" in mine
    assert "Health" in mine
    contacts = {c.email: c.name for a in app.directory().agencies for c in a.contacts}
    assert contacts[SUCCESSOR] == "Nadia Nurse"
    assert NURSE not in contacts


def test_only_the_business_manager_changes_the_directory(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, CHAIR)
        answer = post(client, f"{PAGE}/replace", PAGE, leaving=NURSE, successor=SUCCESSOR,
                      name="x", reason="x")  # fmt: skip
        assert answer.status_code == 403
        client.cookies.clear()
        sign_in(client, app, NURSE)
        assert client.get(PAGE).status_code == 403
    with app.sessions() as session:
        assert [v.number for v in history(session, DIRECTORY)] == [1]


def test_the_whole_directory_edited_checked_and_saved(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        text = client.get(f"{PAGE}/edit").text
        shipped = html.unescape(re.search(r'name="text"[^>]*>(.*?)</textarea>', text, re.S)
                                .group(1))  # type: ignore[union-attr]  # fmt: skip
        broken = shipped.replace("email: police.di@example.org", "email: police.di-at-example")
        refused = post(client, f"{PAGE}/edit", f"{PAGE}/edit", text=broken, reason="typo",
                       base="1")  # fmt: skip
        assert refused.status_code == 422
        assert "agencies[4].contacts[1].email: " in html.unescape(refused.text)
        assert "police.di-at-example" in refused.text  # the text kept, to mend
        schools = "".join(f"  - {{name: School {n:03}, email: dsl{n:03}@school.example.org, "
                          f"groups: [schools]}}\n" for n in range(400))  # fmt: skip
        bigger = shipped.replace("establishments:\n", "establishments:\n" + schools, 1)
        done = post(client, f"{PAGE}/edit", f"{PAGE}/edit", text=bigger, reason="400 schools",
                    base="1")  # fmt: skip
        assert done.status_code == 303, done.text[:500]
        assert "Directory version 2 saved: 400 schools" in client.get(done.headers["location"]).text
    assert len(app.directory().establishments) == 404
    with app.sessions() as session:
        [newest, _] = history(session, DIRECTORY)
        assert "# Named groups of establishments" in newest.content  # comments kept as written


def test_other_console_forms_stay_short(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        answer = post(client, f"{PAGE}/replace", PAGE, leaving=NURSE, successor=SUCCESSOR,
                      name="x" * 40_000, reason="x")  # fmt: skip
    assert answer.status_code == 413


def test_an_edit_made_from_an_older_version_is_never_saved(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        opened = client.get(f"{PAGE}/edit").text
        assert 'name="base" value="1"' in opened
        text = html.unescape(re.search(r'name="text"[^>]*>(.*?)</textarea>', opened, re.S)
                             .group(1))  # type: ignore[union-attr]  # fmt: skip
        meanwhile = text.replace("name: Detective Sergeant", "name: Detective Sergeant Reid")
        new_version(app, DIRECTORY, meanwhile)  # someone hands over a role, say
        token = csrf(client.get(PAGE))
        stale = client.post(f"{PAGE}/edit", data={"csrftoken": token, "base": "1", "text": text,
                                                  "reason": "tidying"})  # fmt: skip
    assert stale.status_code == 422
    assert "version 2 was saved by tests@example.org after version 1" in stale.text
    with app.sessions() as session:
        assert [v.number for v in history(session, DIRECTORY)] == [2, 1]
