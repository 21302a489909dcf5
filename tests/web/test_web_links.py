"""Acknowledge and Mark complete from a digest: GET only asks, POST acts once, bad links refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import new_version, seed
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.cli.digests import would_send
from worker.config.versions import DIRECTORY
from worker.db import transaction
from worker.delivery.tick import plan_once
from worker.mail.digest import Digest, Item
from worker.mail.links import ACKNOWLEDGE, COMPLETE, Links, PreviewLinkError
from worker.mail.message import build_digest_message
from worker.models import Delivery, LinkUse, Obligation, ObligationEvent, StageChange
from worker.obligations import assess, record
from worker.rules.engine import Decision

NURSE = "designated.nurse@example.org"


def planned_digest(app: App, email: str = NURSE) -> Digest:
    """Plan today's digests as the beat would, and read one back from the ledger."""
    run_import(app, seed("002"))
    plan_once(app, app.rules(), app.today(), app.partnership_label())
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == email))
        assert row is not None
        return Digest.from_json(row.payload)


def path(url: str) -> str:
    return urlsplit(url).path


def form_token(client: httpx.Client, url: str) -> str:
    """The hidden form token of the confirmation page `url` opens."""
    page = client.get(path(url))
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_token" value="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def confirm_then_post(client: httpx.Client, url: str, note: str) -> httpx.Response:
    """What a reader does: open the link, then press the button on the page it shows."""
    return client.post(path(url), data={"note": note, "form_token": form_token(client, url)})


def state(app: App) -> tuple[int, int, list[tuple[str, str, str]]]:
    with app.sessions() as session:
        events = session.scalar(select(func.count(ObligationEvent.id))) or 0
        uses = session.scalar(select(func.count(LinkUse.id))) or 0
        stages = [(a.row.key, a.decision.stage_name, str(a.decision.paused_until))
                  for a in assess(session, app.rules(), app.today())]  # fmt: skip
    return events, uses, stages


def decision_for(app: App, key: str) -> Decision | None:
    with app.sessions() as session:
        found = [a.decision for a in assess(session, app.rules(), app.today()) if a.row.key == key]
    return found[0] if found else None


def test_each_open_item_in_a_digest_carries_both_links(app: App) -> None:
    digest = planned_digest(app)
    assert digest.items
    for item in digest.items:
        assert item.acknowledge_url.startswith("http://localhost:8000/links/acknowledge/")
        assert item.complete_url.startswith("http://localhost:8000/links/complete/")
    assert all(not (i.acknowledge_url or i.complete_url) for i in digest.resolved)
    message = build_digest_message(digest, sender="Partnership <r@example.org>",
                                   message_id="<x@example.org>", list_id="<l.example.org>",
                                   sent_at=datetime.now(UTC))  # fmt: skip
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    item = digest.items[0]
    assert item.acknowledge_url in text.get_content()
    assert f'href="{item.complete_url}"' in html.get_content()
    assert ">Acknowledge</a>" in html.get_content()


def test_get_shows_a_confirmation_page_and_changes_nothing(app: App) -> None:
    item = planned_digest(app).items[0]
    before = state(app)
    with serving(app) as client:
        pages = [client.get(path(item.acknowledge_url)), client.get(path(item.complete_url))]
        pages.append(client.head(path(item.acknowledge_url)))
    assert [p.status_code for p in pages] == [200, 200, 200]
    acknowledge, complete = pages[0].text, pages[1].text
    assert f"<h1>Acknowledge: {item.ref} (" in acknowledge
    assert '<form method="post">' in acknowledge  # posts back to the same signed address
    assert 'name="note"' in acknowledge
    assert NURSE in acknowledge
    assert "<h1>Mark complete:" in complete
    assert pages[0].headers["cache-control"] == "no-store"
    assert pages[0].headers["x-frame-options"] == "DENY"
    assert pages[0].headers["referrer-policy"] == "same-origin"
    assert state(app) == before


def test_post_acknowledges_once_and_the_escalation_pauses(app: App) -> None:
    item = planned_digest(app).items[0]
    open_before = decision_for(app, item.key)
    assert open_before is not None
    assert open_before.paused_until is None
    with serving(app) as client:
        token = form_token(client, item.acknowledge_url)
        done = client.post(path(item.acknowledge_url), data={"note": "Audit booked for May",
                                                              "form_token": token})  # fmt: skip
        again = client.post(
            path(item.acknowledge_url), data={"note": "twice?", "form_token": token}
        )
        revisit = client.get(path(item.acknowledge_url))
    assert done.status_code == 200
    assert f"Acknowledged: {item.ref}" in done.text
    assert "Escalation is paused until" in done.text
    with app.sessions() as session:
        [event] = session.scalars(select(ObligationEvent).where(ObligationEvent.by == NURSE))
        [use] = session.scalars(select(LinkUse))
    assert (event.kind, event.note, event.on) == (
        "acknowledged",
        "Audit booked for May",
        app.today(),
    )
    assert (use.purpose, use.obligation_key, use.recipient) == (ACKNOWLEDGE, item.key, NURSE)
    assert use.event_id == event.id
    paused = decision_for(app, item.key)
    assert paused is not None
    assert paused.paused_until is not None
    assert paused.resolved is False
    for refused in (again, revisit):
        assert refused.status_code == 409
        assert "This link has already been used" in refused.text


def test_post_complete_ends_the_escalation(app: App) -> None:
    digest = planned_digest(app)
    item = digest.items[0]
    with serving(app) as client:
        done = confirm_then_post(client, item.complete_url, "")
        late_ack = client.get(path(item.acknowledge_url))
    assert done.status_code == 200
    assert f"Marked complete: {item.ref}" in done.text
    assert decision_for(app, item.key) is None  # resolved at once: no longer open
    with app.sessions() as session:  # the resolution written down by the same request
        query = select(StageChange.reason).join(StageChange.obligation)
        reasons = list(session.scalars(query.where(Obligation.key == item.key)))
    assert reasons[-1] == f"resolved: marked complete from the digest link (by {NURSE})"
    with transaction(app.sessions) as session:  # the next sweep repeats nothing
        assert [c for c in record(session, app.rules(), app.today()) if c.key == item.key] == []
    with app.sessions() as session:
        [event] = session.scalars(select(ObligationEvent).where(ObligationEvent.by == NURSE))
    assert (event.kind, event.note) == ("completed", "marked complete from the digest link")
    assert late_ack.status_code == 409
    assert "Already complete" in late_ack.text


def test_an_acknowledgement_needs_a_note(app: App) -> None:
    item = planned_digest(app).items[0]
    before = state(app)
    with serving(app) as client:
        response = confirm_then_post(client, item.acknowledge_url, "   ")
        too_long = confirm_then_post(client, item.acknowledge_url, "x" * 2001)
    assert response.status_code == too_long.status_code == 422
    assert "Please write a short progress note." in response.text
    assert "under 2000 characters" in too_long.text
    assert state(app) == before


def forged(url: str) -> str:
    """The same link with one character of its signature changed.

    Not the last character: in base64 its low bits are padding, so changing it can leave
    the decoded signature the same (which made this test pass or fail by chance).
    """
    index = len(url) - 6
    return url[:index] + ("A" if url[index] != "A" else "B") + url[index + 1 :]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_expired_and_misused_links_are_refused(app: App, method: str) -> None:
    item = planned_digest(app).items[0]
    links = Links.from_settings(app.settings)
    month_ago = datetime.now(UTC) - timedelta(days=31)
    expired = links.url(ACKNOWLEDGE, item.key, NURSE, month_ago)
    other_key = Links(b"k" * 40, links.base_url, links.valid_for)
    foreign = other_key.url(ACKNOWLEDGE, item.key, NURSE, datetime.now(UTC))
    nothing = links.url(ACKNOWLEDGE, "action:9999:agency:1", NURSE, datetime.now(UTC))
    wrong_purpose = item.acknowledge_url.replace(f"/{ACKNOWLEDGE}/", f"/{COMPLETE}/")
    cases = {
        forged(item.acknowledge_url): (400, "This link is not valid"),
        foreign: (400, "This link is not valid"),
        path(item.acknowledge_url)[:-20]: (400, "This link is not valid"),
        "/links/acknowledge/nonsense": (400, "This link is not valid"),
        expired: (410, "This link has expired"),
        wrong_purpose: (400, "This link is for something else"),
        # A POST needs the form of the page the GET shows, and that page does not exist.
        nothing: (404, "Item not found")
        if method == "GET"
        else (403, "Please use the page this link opens"),
    }
    before = state(app)
    with serving(app) as client:
        for url, (status, title) in cases.items():
            data = {"note": "x"} if method == "POST" else None
            response = client.request(method, path(url), data=data)
            assert response.status_code == status, url
            assert f"<h1>{title}</h1>" in response.text
            assert "Nothing has been recorded." in response.text
            assert "Traceback" not in response.text
            assert response.headers["content-type"].startswith("text/html")
    assert state(app) == before


def test_links_are_bound_to_their_recipient_and_item(app: App) -> None:
    item = planned_digest(app).items[0]
    links = Links.from_settings(app.settings)
    token = path(item.acknowledge_url).rsplit("/", 1)[1]
    grant = links.verify(token, ACKNOWLEDGE, datetime.now(UTC))
    assert (grant.key, grant.recipient, grant.purpose) == (item.key, NURSE, ACKNOWLEDGE)
    assert grant.expires > datetime.now(UTC) + timedelta(days=29)


def item_urls(items: tuple[Item, ...]) -> list[str]:
    return [u for i in items for u in (i.acknowledge_url, i.complete_url)]


def test_every_link_is_different(app: App) -> None:
    urls = item_urls(planned_digest(app).items)
    assert len(set(urls)) == len(urls)


def test_a_bare_post_without_the_pages_form_token_records_nothing(app: App) -> None:
    item = planned_digest(app).items[0]
    before = state(app)
    with serving(app) as client:
        bare = client.post(path(item.complete_url), data={"note": "done"})
        wrong = client.post(path(item.complete_url), data={"note": "", "form_token": "0" * 64})
        other = form_token(client, planned_digest_items(app)[1].complete_url)
        borrowed = client.post(path(item.complete_url), data={"note": "", "form_token": other})
        empty = client.post(path(item.complete_url))
        accented = client.post(path(item.complete_url), data={"note": "", "form_token": "é"})
    for response in (bare, wrong, borrowed, empty, accented):
        assert response.status_code == 403
        assert "<h1>Please use the page this link opens</h1>" in response.text
    assert state(app) == before


def planned_digest_items(app: App) -> tuple[Item, ...]:
    with app.sessions() as session:
        row = session.scalar(select(Delivery).where(Delivery.recipient == NURSE))
        assert row is not None
        return Digest.from_json(row.payload).items


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_cross_site_post_is_refused(app: App, headers: dict[str, str]) -> None:
    item = planned_digest(app).items[0]
    before = state(app)
    with serving(app) as client:
        token = form_token(client, item.complete_url)
        response = client.post(path(item.complete_url), data={"note": "", "form_token": token},
                               headers=headers)  # fmt: skip
        same_origin = client.post(path(item.complete_url), headers={"sec-fetch-site": "same-origin",
                                  "origin": "http://localhost:8000"},
                                  data={"note": "", "form_token": token})  # fmt: skip
    assert response.status_code == 403
    assert "<h1>This request came from another site</h1>" in response.text
    assert same_origin.status_code == 200
    assert state(app) != before


def test_a_body_over_32_kb_is_refused_unread(app: App) -> None:
    item = planned_digest(app).items[0]
    before = state(app)
    with serving(app) as client:
        token = form_token(client, item.acknowledge_url)
        big = client.post(
            path(item.acknowledge_url), data={"note": "x" * 40_000, "form_token": token}
        )
        chunks = (b"note=" + b"x" * 8192 for _ in range(6))  # no Content-Length: streamed
        streamed = client.post(path(item.acknowledge_url), content=chunks,
                               headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert big.status_code == 413
    assert streamed.status_code in (411, 413)
    assert state(app) == before


def test_a_link_stops_working_when_its_recipient_leaves_the_directory(app: App) -> None:
    item = planned_digest(app).items[0]
    with serving(app) as client:
        token = form_token(client, item.complete_url)  # the page opened while still told
    directory = (app.settings.config_dir / "directory.yaml").read_text().splitlines()
    kept = [line for line in directory if NURSE not in line]
    assert len(kept) == len(directory) - 1
    before = state(app)
    new_version(app, DIRECTORY, "\n".join(kept) + "\n")
    with serving(app) as client:
        shown = client.get(path(item.complete_url))
        posted = client.post(path(item.complete_url), data={"note": "", "form_token": token})
    for response in (shown, posted):
        assert response.status_code == 403
        assert "This link no longer applies to you" in response.text
    assert state(app)[:2] == before[:2]


def test_preview_links_never_act(app: App) -> None:
    run_import(app, seed("002"))
    [digest] = [d for d in would_send(app, app.today()) if d.email == NURSE]
    item = digest.items[0]
    links = Links.from_settings(app.settings)
    grant_payload = path(item.complete_url).rsplit("/", 1)[1]
    with pytest.raises(PreviewLinkError):
        links.verify(grant_payload, COMPLETE, datetime.now(UTC))
    before = state(app)
    with serving(app) as client:
        shown = client.get(path(item.complete_url))
        posted = client.post(path(item.complete_url), data={"note": ""})
    for response in (shown, posted):
        assert response.status_code == 403
        assert "This link is from a preview" in response.text
    assert state(app) == before


def test_the_client_address_and_user_agent_are_recorded(app: App) -> None:
    item = planned_digest(app).items[0]
    with serving(app) as client:
        client.headers["user-agent"] = "Mozilla/5.0 (reader's browser)"
        assert confirm_then_post(client, item.complete_url, "").status_code == 200
    with app.sessions() as session:
        [use] = session.scalars(select(LinkUse))
    assert (use.client, use.user_agent) == ("127.0.0.1", "Mozilla/5.0 (reader's browser)")
