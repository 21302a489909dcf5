"""The console over HTTP (real uvicorn): sign-in, sessions, and what each role may do."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from tests.conftest import new_version, seed
from tests.support.console import (
    CHAIR,
    HEALTH_HEAD,
    MANAGER,
    NURSE,
    POLICE,
    RIVERSIDE,
    csrf,
    link_token,
    partnership,
    post,
    sign_in,
)
from tests.support.helpers import run_import
from tests.support.services import wait_for
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY, RULES, history
from worker.console.items import Choices, choices
from worker.console.kept import KEEP_SECONDS, Kept
from worker.console.overview import Overview, overview
from worker.db import transaction
from worker.delivery.tick import plan_once
from worker.directory.entries import Directory
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.models import (
    Agency,
    AgencyFeed,
    ConsoleAction,
    ConsoleSession,
    Delivery,
    DeliveryState,
    Obligation,
    ObligationEvent,
)
from worker.obligations import record, record_event, sync_obligations
from worker.rules.ladder import Rules
from worker.web import console as console_pages
from worker.web.guard import set_session_cookie, way_back


def outbox_app(app: App, folder: Path) -> App:
    app.settings = app.settings.model_copy(update={"outbox_dir": folder})
    return app


def mails(folder: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def item_of(app: App, *where: object) -> int:
    with app.sessions() as session:
        found = session.scalar(select(Obligation.id).where(*where).order_by(Obligation.id))  # type: ignore[arg-type]
        assert found is not None
        return int(found)


def agency_id(app: App, name: str) -> int:
    with app.sessions() as session:
        found = session.scalar(select(Agency.id).where(Agency.name == name))
        assert found is not None
        return int(found)


def counts(app: App) -> tuple[int, int]:
    with app.sessions() as session:
        events = session.scalar(select(func.count(ObligationEvent.id))) or 0
        actions = session.scalar(select(func.count(ConsoleAction.id))) or 0
    return events, actions


def test_sign_in_by_mail_answers_the_same_for_unknown_addresses(app: App, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox_app(app, outbox)
    with serving(app) as client:
        form = client.get("/console/sign-in")
        known = client.post("/console/sign-in", data={"csrftoken": csrf(form), "email": NURSE})
        unknown = client.post(
            "/console/sign-in", data={"csrftoken": csrf(form), "email": "nobody@example.org"}
        )
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace(NURSE, "X") == unknown.text.replace("nobody@example.org", "X")
        wait_for(lambda: len(list(outbox.glob("*.eml"))) >= 1, 10, "the sign-in mail")
        [message] = mails(outbox)
        assert message["To"].addresses[0].addr_spec == NURSE
        body = message.get_body(("plain",))
        assert body is not None
        url = next(w for w in body.get_content().split() if "/console/sign-in/" in w)
        path = httpx.URL(url).path
        offer = client.get(path)  # opening the link changes nothing
        again = client.get(path)
        assert offer.status_code == again.status_code == 200
        used = client.post(path, data={"csrftoken": csrf(offer)})
        assert used.status_code == 303
        assert client.get("/console/mine").status_code == 200
        stale = client.post(path, data={"csrftoken": csrf(offer)})
        assert stale.status_code == 403  # the session has a form token of its own now
        twice = client.post(path, data={"csrftoken": csrf(client.get("/console/mine"))})
        assert twice.status_code == 410  # single use
    assert len(mails(outbox)) == 1  # nothing sent for the unknown address


def test_session_cookie_is_httponly_lax_and_scoped(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        done = sign_in(client, app, NURSE)
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/console" in cookie
    assert "secure" not in cookie  # http://localhost; https turns it on (below)
    with app.sessions() as session:
        [row] = session.scalars(select(ConsoleSession))
        assert row.token_hash not in done.headers["set-cookie"]  # only the hash is kept


def test_secure_cookies_under_https(app: App) -> None:
    app.settings = app.settings.model_copy(update={"public_base_url": "https://localhost"})
    session_cookie = Response()
    set_session_cookie(session_cookie, "token", app.settings)
    assert "secure" in session_cookie.headers["set-cookie"].lower()
    with serving(app) as client:
        form = client.get("/console/sign-in")
    assert "secure" in form.headers["set-cookie"].lower()  # the CSRF cookie too


def test_a_link_expires_after_its_minutes(app: App) -> None:
    token = link_token(app, NURSE)
    app.settings = app.settings.model_copy(update={"clock_offset": timedelta(minutes=16)})
    with serving(app) as client:
        assert client.get(f"/console/sign-in/{token}").status_code == 410


def test_sessions_end_when_idle_and_after_their_lifetime(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, NURSE)
        app.settings = app.settings.model_copy(update={"clock_offset": timedelta(minutes=29)})
        assert client.get("/console/mine").status_code == 200  # busy: still signed in
        app.settings = app.settings.model_copy(update={"clock_offset": timedelta(minutes=60)})
        idle = client.get("/console/mine")
        assert idle.status_code == 303
        assert idle.headers["location"] == "/console/sign-in?why=expired"
        sign_in(client, app, NURSE)
        for step in range(1, 29):  # a request every 25 minutes, never idle, for 11h40 …
            app.settings = app.settings.model_copy(
                update={"clock_offset": timedelta(minutes=60 + 25 * step)}
            )
            assert client.get("/console/mine").status_code == 200
        app.settings = app.settings.model_copy(
            update={"clock_offset": timedelta(minutes=60 + 25 * 29)}
        )
        assert client.get("/console/mine").status_code == 303  # … but 12 hours is the most
    with app.sessions() as session:
        why = sorted(r.ended_why or "" for r in session.scalars(select(ConsoleSession)))
    assert why == ["idle too long", "signed in too long ago"]


def test_sign_out_everywhere_ends_every_browser(app: App) -> None:
    with serving(app) as first, serving(app) as second:
        sign_in(first, app, NURSE)
        sign_in(second, app, NURSE)
        unused = link_token(app, NURSE)
        out = post(first, "/console/sign-out-everywhere", "/console/mine")
        assert out.status_code == 303
        assert second.get("/console/mine").status_code == 303
        assert first.get("/console/mine").status_code == 303
        assert second.get(f"/console/sign-in/{unused}").status_code == 410  # links end too


def test_sign_out_ends_this_browser_only(app: App) -> None:
    with serving(app) as first, serving(app) as second:
        sign_in(first, app, NURSE)
        sign_in(second, app, NURSE)
        assert post(first, "/console/sign-out", "/console/mine").status_code == 303
        assert first.get("/console/mine").status_code == 303
        assert second.get("/console/mine").status_code == 200


def test_removal_from_the_directory_ends_sessions_at_once(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, NURSE)
        assert client.get("/console/mine").status_code == 200
        text = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
        kept = [line for line in text.splitlines() if NURSE not in line]
        new_version(app, DIRECTORY, "\n".join(kept) + "\n")
        gone = client.get("/console/mine")
        assert gone.headers["location"] == "/console/sign-in?why=removed"
        token = link_token(app, NURSE)
        assert client.get(f"/console/sign-in/{token}").status_code == 200
        assert (
            client.post(
                f"/console/sign-in/{token}",
                data={"csrftoken": csrf(client.get(f"/console/sign-in/{token}"))},
            ).status_code
            == 410
        )
    with app.sessions() as session:
        [row] = session.scalars(select(ConsoleSession))
        assert row.ended_why == "removed from the directory"


def test_the_business_manager_ends_someone_elses_sessions(app: App) -> None:
    with serving(app) as boss, serving(app) as nurse:
        sign_in(boss, app, MANAGER)
        sign_in(nurse, app, NURSE)
        people = boss.get("/console/people")
        assert NURSE in people.text
        ended = post(boss, "/console/people/end", "/console/people", email=NURSE)
        assert ended.status_code == 303
        assert nurse.get("/console/mine").status_code == 303
        assert boss.get("/console/").status_code == 200
    with app.sessions() as session:
        [action] = session.scalars(select(ConsoleAction))
        assert (action.email, action.action, action.subject) == (MANAGER, "ended sessions", NURSE)
        assert action.client == "127.0.0.1"


def test_a_forged_or_missing_csrf_token_is_refused(app: App) -> None:
    partnership(app)
    health = item_of(app, Obligation.agency.has(name="Health"))
    with serving(app) as client:
        sign_in(client, app, NURSE)
        page = f"/console/items/{health}"
        assert client.get(page).status_code == 200
        before = counts(app)
        forged = client.post(f"{page}/note", data={"csrftoken": "forged", "note": "x"})
        missing = client.post(f"{page}/note", data={"note": "x"})
        assert forged.status_code == missing.status_code == 403
        assert counts(app) == before
        assert post(client, f"{page}/note", page, note="on it").status_code == 303
        assert counts(app) == (before[0] + 1, before[1] + 1)


def test_gets_change_nothing(app: App) -> None:
    partnership(app)
    health = item_of(app, Obligation.agency.has(name="Health"))
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        before = counts(app)
        for path in ["/console/", "/console/mine", "/console/items", "/console/items.csv",
                     f"/console/items/{health}", "/console/deliveries", "/console/calendars",
                     "/console/people", f"/console/items/{health}/complete"]:  # fmt: skip
            assert client.get(path).status_code in (200, 405), path
        assert counts(app) == before


FORBIDDEN = [
    # (who, which item, what) — each must be refused with 403 and nothing recorded
    (CHAIR, "Health", "acknowledge"),
    (CHAIR, "Health", "note"),
    (CHAIR, "Health", "complete"),
    (CHAIR, "Health", "retarget"),
    (CHAIR, "Health", "reassign"),
    (NURSE, "MASH", "acknowledge"),
    (NURSE, "MASH", "note"),
    (NURSE, "MASH", "complete"),
    (NURSE, "Health", "retarget"),
    (NURSE, "Health", "reassign"),
    (HEALTH_HEAD, "Health", "retarget"),
    (RIVERSIDE, "Riverside", "acknowledge"),
    (RIVERSIDE, "Riverside", "retarget"),
    (RIVERSIDE, "Health", "complete"),
    (RIVERSIDE, "Eastbrook", "complete"),
    (POLICE, "Health", "complete"),
]


def owner_item(app: App, owner: str) -> int:
    if owner in ("Riverside", "Eastbrook"):
        return item_of(app, Obligation.establishment.has(name=f"{owner} Primary School")
                       if owner == "Riverside" else
                       Obligation.establishment.has(name="Eastbrook Academy"))  # fmt: skip
    return item_of(app, Obligation.agency.has(name=owner), Obligation.action_id.is_not(None))


def fields_for(what: str) -> dict[str, str]:
    return {"note": "a note", "target": "2027-01-29", "agency": "Police"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_forbidden_action_is_refused_and_nothing_is_recorded(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        for who, owner, what in FORBIDDEN:
            client.cookies.clear()
            sign_in(client, app, who)
            number = owner_item(app, owner)
            before = counts(app)
            token = csrf(client.get("/console/mine"))
            answer = client.post(f"/console/items/{number}/{what}",
                                 data={"csrftoken": token, **fields_for(what)})  # fmt: skip
            assert answer.status_code == 403, (who, owner, what, answer.status_code)
            assert counts(app) == before, (who, owner, what)
        for who, path in [(CHAIR, "/console/people"), (NURSE, "/console/people")]:
            client.cookies.clear()
            sign_in(client, app, who)
            page = client.get(path)
            if who == CHAIR:  # the chair sees who is signed in, as the data map says
                assert page.status_code == 200
                assert "People signed in" in page.text
                assert "End sessions" not in page.text  # ending them is the manager's
            else:
                assert page.status_code == 403
            token = csrf(client.get("/console/mine"))
            for target, data in [("/console/people/end", {"email": MANAGER}),
                                 ("/console/deliveries/1/resend", {}),
                                 ("/console/calendars/1/rotate", {}),
                                 ("/console/calendars/1/revoke", {})]:  # fmt: skip
                before = counts(app)
                refused = client.post(target, data={"csrftoken": token, **data})
                assert refused.status_code == 403, (who, target)
                assert counts(app) == before


ALLOWED = [
    (NURSE, "Health", "acknowledge", "acknowledged"),
    (NURSE, "Health", "note", "noted"),
    (HEALTH_HEAD, "Health", "complete", "completed"),
    (RIVERSIDE, "Riverside", "note", "noted"),
    (RIVERSIDE, "Riverside", "complete", "completed"),
    (MANAGER, "MASH", "retarget", "retargeted"),
    (MANAGER, "MASH", "reassign", "reassigned"),
    (MANAGER, "Eastbrook", "complete", "completed"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_role_does_what_it_may_through_the_one_event_path(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        for who, owner, what, kind in ALLOWED:
            client.cookies.clear()
            sign_in(client, app, who)
            number = owner_item(app, owner)
            page = f"/console/items/{number}"
            done = post(client, f"{page}/{what}", page, **fields_for(what))
            assert done.status_code == 303, (who, what, done.text[-500:])
            with app.sessions() as session:
                event = session.scalar(select(ObligationEvent).order_by(ObligationEvent.id.desc()))
                action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
                assert event is not None
                assert action is not None
                assert (event.kind, event.by, event.obligation_id) == (kind, who, number)
                assert (action.event_id, action.email, action.client) == (
                    event.id,
                    who,
                    "127.0.0.1",
                )
            shown = client.get(page).text
            assert f"{kind}" in shown
            assert "console (127.0.0.1)" in shown


def test_what_each_role_sees(app: App) -> None:
    partnership(app)
    police = owner_item(app, "MASH")
    with serving(app) as client:
        sign_in(client, app, NURSE)
        assert client.get(f"/console/items/{police}").status_code == 403
        listed = client.get("/console/items.csv").text.splitlines()
        assert len(listed) > 1
        assert all(",MASH," not in line for line in listed[1:])
        assert client.get("/console/").headers.get("location") is None
        client.cookies.clear()
        sign_in(client, app, CHAIR)
        assert client.get(f"/console/items/{police}").status_code == 200
        overview = client.get("/console/")
        assert "Open items by stage" in overview.text
        assert "<svg" in overview.text
        assert "<script" not in overview.text
        assert "Acknowledge</button>" not in client.get(f"/console/items/{police}").text


def test_the_business_manager_resends_a_failed_digest(app: App) -> None:
    partnership(app)
    plan_once(app, app.rules(), app.today(), app.partnership_label())
    with app.sessions() as session, session.begin():
        row = session.scalar(select(Delivery).order_by(Delivery.id))
        assert row is not None
        row.state, row.attempts, row.last_error = DeliveryState.FAILED, 5, "550 no such user"
        number = row.id
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        log = client.get("/console/deliveries?outcome=failed")
        assert "550 no such user" in log.text
        again = post(client, f"/console/deliveries/{number}/resend", "/console/deliveries")
        assert again.status_code == 303
        twice = post(client, f"/console/deliveries/{number}/resend", "/console/deliveries")
        assert twice.status_code == 409
    with app.sessions() as session:
        row = session.get(Delivery, number)
        assert row is not None
        assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)


def test_an_agencys_first_calendar_address_is_made_and_the_next_replaces_it(app: App) -> None:
    partnership(app)
    health = agency_id(app, "Health")
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        said = []
        for _ in range(2):
            done = post(client, f"/console/calendars/{health}/rotate", "/console/calendars")
            assert done.status_code == 303
            page = client.get(done.headers["location"]).text
            found = re.search(r'govuk-notification-banner__heading">([^<]+)</p>', page)
            assert found, "no banner after making an address"
            said.append(found.group(1))
    assert said == ["The address was made.",
                    "The address was rotated. The old one has stopped working."]  # fmt: skip
    with app.sessions() as session:
        query = select(ConsoleAction.action).where(ConsoleAction.subject == "Health")
        kept = list(session.scalars(query.order_by(ConsoleAction.id)))
    assert kept == ["made a calendar address", "rotated a calendar address"]


def test_calendar_addresses_made_shown_to_the_agency_and_stopped(app: App) -> None:
    partnership(app)
    health = agency_id(app, "Health")
    with serving(app) as boss, serving(app) as nurse:
        sign_in(boss, app, MANAGER)
        sign_in(nurse, app, NURSE)
        made = post(boss, f"/console/calendars/{health}/rotate", "/console/calendars")
        assert made.status_code == 303
        page = nurse.get("/console/calendars").text
        [address] = re.findall(r"http://[^<\"]+/feeds/agency/[^<\"]+\.ics", page)
        feed = nurse.get(httpx.URL(address).path)
        assert feed.status_code == 200
        assert "BEGIN:VCALENDAR" in feed.text
        assert "Police" not in page  # only their own agency's address
        stopped = post(boss, f"/console/calendars/{health}/revoke", "/console/calendars")
        assert stopped.status_code == 303
        assert nurse.get(httpx.URL(address).path).status_code == 404


def test_no_console_page_without_signing_in(app: App) -> None:
    with serving(app) as client:
        for path in ["/console/", "/console/items", "/console/items/1", "/console/people"]:
            answer = client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/sign-in"


RESOLVED = re.compile(r"Resolved in the last 30 days \((\d+)\)")


def resolved_shown(client: httpx.Client) -> int:
    found = RESOLVED.search(client.get("/console/").text)
    assert found, "no resolved count on the overview"
    return int(found.group(1))


def test_the_overview_follows_a_change_made_by_another_process(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server keeps the overview's figures, but never past a change it can see."""
    partnership(app)
    worked_out: list[date] = []

    def counted(
        session: Session, directory: Directory, today: date, top: int, tz: ZoneInfo,
        rules: Rules | None = None,
    ) -> Overview:  # fmt: skip
        worked_out.append(today)
        return overview(session, directory, today, top, tz, rules)

    monkeypatch.setattr(console_pages, "overview", counted)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        before = resolved_shown(client)
        assert resolved_shown(client) == before
        assert len(worked_out) == 1  # kept: nothing moved
        with transaction(app.sessions) as session:  # as the worker or the CLI would
            row = session.get(Obligation, item_of(app, Obligation.resolved_on.is_(None)))
            assert row is not None
            record_event(row, "completed", app.today(), "someone@example.org", "done")
        with transaction(app.sessions) as session:
            record(session, app.rules(), app.today())
        assert resolved_shown(client) == before + 1
        assert len(worked_out) == 2


def test_the_filters_choices_are_kept_until_an_item_is_added(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Choices drawn from every item are kept per process, but an import is seen at once."""
    run_import(app, seed("000"), seed("003"))  # two MI sheets; the CAP comes later
    sync_and_record(app)
    worked_out: list[object] = []

    def counted(session: Session, scope: object) -> Choices:
        worked_out.append(scope)
        return choices(session, None)

    monkeypatch.setattr(console_pages, "choices", counted)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        before = client.get("/console/items").text
        assert client.get("/console/items?status=overdue").status_code == 200
        assert len(worked_out) == 1  # kept: nothing moved
        run_import(app, seed("002"))
        sync_and_record(app)
        after = client.get("/console/items").text
        assert len(worked_out) == 2
    added = [p for p in choices_in(after) if p not in choices_in(before)]
    assert "Serious Case Review Composite Action Plan January 2017" in added
    assert "Professional curiosity" in added  # one of its themes


def choices_in(page: str) -> list[str]:
    return re.findall(r"<option[^>]*>([^<]+)</option>", page)


def sync_and_record(app: App) -> None:
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
    with transaction(app.sessions) as session:
        record(session, app.rules(), app.today())


def test_kept_figures_run_out_after_their_time() -> None:
    kept = Kept(("key",), 100.0, None)
    assert kept.fresh(("key",), 100.0 + KEEP_SECONDS - 1)
    assert not kept.fresh(("key",), 100.0 + KEEP_SECONDS)
    assert not kept.fresh(("other key",), 100.0)


def test_a_digest_links_each_item_to_its_console_page(app: App) -> None:
    partnership(app)
    plan_once(app, app.rules(), app.today(), app.partnership_label())
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == NURSE))
        assert row is not None
        digest = Digest.from_json(row.payload)
    item = digest.items[0]
    message = build_digest_message(digest, sender="Partnership <r@example.org>",
                                   message_id="<x@example.org>", list_id="<l.example.org>",
                                   sent_at=app.now())  # fmt: skip
    for part in ("plain", "html"):
        body = message.get_body((part,))
        assert body is not None
        assert item.console_url in body.get_content()
    address = urlsplit(item.console_url)
    assert address.path.startswith("/console/items/key/")
    with serving(app) as client:
        assert "/console/sign-in" in client.get(address.path).headers["location"]
        done = sign_in(client, app, NURSE)
        assert done.headers["location"] == address.path  # back where the digest pointed
        page = client.get(address.path, follow_redirects=True)
        assert page.status_code == 200
        assert f"/console/items/{item_of(app, Obligation.key == item.key)}" == page.url.path
        assert item.ref in page.text
        nowhere = client.get("/console/items/key/no%3Asuch%3Aitem")
        assert nowhere.status_code == 404
        client.cookies.clear()
        sign_in(client, app, RIVERSIDE)  # a school's DSL may not see Health's item, nor learn
        hidden = client.get(address.path)  # that its key exists: as if there were none
        assert (hidden.status_code, hidden.text) == (404, nowhere.text)


def test_sign_in_requests_are_limited_per_address_and_per_client(app: App, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox_app(app, outbox)
    app.settings = app.settings.model_copy(
        update={"sign_in_rate_per_address": "2/hour", "sign_in_rate_per_client": "4/hour"}
    )
    with serving(app) as client:
        token = csrf(client.get("/console/sign-in"))

        def ask(email: str) -> httpx.Response:
            return client.post("/console/sign-in", data={"csrftoken": token, "email": email})

        answers = [ask(NURSE) for _ in range(3)]
        # The third for the same address looks the same, but sends nothing.
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[2].text == answers[0].text
        wait_for(lambda: len(mails(outbox)) >= 2, 10, "two sign-in mails")
        assert ask(CHAIR).status_code == 200  # another address: the fourth from this client
        wait_for(lambda: len(mails(outbox)) >= 3, 10, "the chair's sign-in mail")
        refused = ask(POLICE)
        assert refused.status_code == 429
        assert "Please wait" in refused.text
    recipients = [m["To"].addresses[0].addr_spec for m in mails(outbox)]
    assert sorted(recipients) == sorted([NURSE, NURSE, CHAIR])


def test_an_address_made_before_nonces_is_not_shown_but_can_be_replaced(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = "/console/calendars"
        health = agency_id(app, "Health")
        assert post(client, f"{page}/{health}/rotate", page).status_code == 303
        with transaction(app.sessions) as session:  # as a feed made before migration 0008
            for feed in session.scalars(select(AgencyFeed)):
                feed.nonce = None
        shown = client.get(page).text
        assert "Made before addresses could be shown again" in shown
        assert "/feeds/agency/" not in shown
        assert post(client, f"{page}/{health}/rotate", page).status_code == 303
        assert "/feeds/agency/" in client.get(page).text


@pytest.mark.parametrize(
    "asked",
    ["//evil.example/console/", "https://evil.example/", "/console/sign-in/abc", "/consoles",
     "/console/\\evil.example", "/console/x\r\nSet-Cookie: a=b", ""],
)  # fmt: skip
def test_only_console_pages_are_returned_to_after_signing_in(asked: str) -> None:
    assert way_back(asked) is None


def test_console_pages_are_returned_to_after_signing_in() -> None:
    assert way_back("/console/items?status=overdue") == "/console/items?status=overdue"


def test_versions_seen_compared_and_put_back(app: App) -> None:
    shipped = (app.settings.config_dir / "escalation.yaml").read_text(encoding="utf-8")
    new_version(
        app, RULES, shipped.replace("acknowledgement_pause: 10", "acknowledgement_pause: 4")
    )
    page = "/console/versions/rules"
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown = client.get(page).text
        assert "2 (in force)" in shown
        assert "tests@example.org" in shown
        compared = client.get(page, params={"a": "1", "b": "2"}).text
        assert "− removed</td><td><code>acknowledgement_pause: 10</code>" in compared
        assert "+ added</td><td><code>acknowledgement_pause: 4</code>" in compared
        refused = post(client, f"{page}/1/rollback", page, reason=" ")
        assert refused.status_code == 422
        assert "Nothing saved" in refused.text
        done = post(client, f"{page}/1/rollback", page, reason="the pause stays at 10")
        assert done.status_code == 303
        assert done.headers["location"] == f"{page}?saved=3"
        assert "Version 3 saved" in client.get(done.headers["location"]).text
    assert app.rules().acknowledgement_pause == 10
    with app.sessions() as session:
        action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
        assert action is not None
        assert (action.action, action.email, action.client) == (
            "rules rollback", MANAGER, "127.0.0.1"
        )  # fmt: skip
        [newest, *_] = history(session, RULES)
        assert (newest.number, newest.made_by, newest.client) == (3, MANAGER, "127.0.0.1")
        assert newest.reason == "back to version 1: the pause stays at 10"


def test_only_the_business_manager_puts_a_version_back(app: App) -> None:
    page = "/console/versions/rules"
    with serving(app) as client:
        sign_in(client, app, CHAIR)
        assert client.get(page).status_code == 200
        assert "/rollback" not in client.get(page).text
        assert post(client, f"{page}/1/rollback", page, reason="x").status_code == 403
        client.cookies.clear()
        sign_in(client, app, NURSE)
        assert client.get(page).status_code == 403
        assert client.get("/console/versions/nothing").status_code == 404
    with app.sessions() as session:
        assert [v.number for v in history(session, RULES)] == [1]
