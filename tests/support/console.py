"""Helpers for the console tests: a partnership on record, and signed-in clients."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.db import transaction
from worker.models import Obligation
from worker.obligations import record, sync_obligations
from worker.signin.links import new_link

MANAGER = "business.manager@example.org"
CHAIR = "independent.chair@example.org"
NURSE = "designated.nurse@example.org"  # Health's named contact
HEALTH_HEAD = "director.nursing@example.org"  # Health's senior lead
POLICE = "police.ds@example.org"
RIVERSIDE = "dsl@riverside-primary.example.org"  # a school's DSL
CSRF = re.compile(r'name="csrftoken" value="([^"]+)"')


def partnership(app: App) -> None:
    """The seed CAPs and MI sheets imported, and today's daily run made."""
    run_import(app, seed("000"), seed("001"), seed("002"), seed("003"))
    daily_run(app)


def daily_run(app: App) -> None:
    """Obligations in step with what was imported, and today's stages recorded."""
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())
    with transaction(app.sessions) as session:
        record(session, app.rules(), app.today())


def link_token(app: App, email: str) -> str:
    with transaction(app.sessions) as session:
        return new_link(session, email, app.now(), timedelta(minutes=15))


def csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def sign_in(client: httpx.Client, app: App, email: str) -> httpx.Response:
    """Sign `client` in as `email` with a fresh link, as a browser would."""
    token = link_token(app, email)
    offer = client.get(f"/console/sign-in/{token}")
    assert offer.status_code == 200, offer.text
    done = client.post(f"/console/sign-in/{token}", data={"csrftoken": csrf(offer)})
    assert done.status_code == 303, done.text
    return done


def post(client: httpx.Client, path: str, page: str, **fields: str) -> httpx.Response:
    """POST a console form, with the CSRF token of the page at `page`."""
    token = csrf(client.get(page))
    return client.post(path, data={"csrftoken": token, **fields})


def health_item(app: App) -> int:
    """The first open item of Health's, which the nurse may act on."""
    with app.sessions() as session:
        query = select(Obligation.id).where(
            Obligation.resolved_on.is_(None), Obligation.agency.has(name="Health")
        )
        found = session.scalar(query.order_by(Obligation.id))
        assert found is not None
        return found


def every_download(client: httpx.Client) -> list[bytes]:
    """What each download link in the import history gives, every one answering 200."""
    page = client.get("/console/imports")
    assert page.status_code == 200, page.text
    links = re.findall(r'href="(/console/imports/\d+/original)"', page.text)
    got = [client.get(link) for link in links]
    answers = {link: r.status_code for link, r in zip(links, got, strict=True)}
    assert set(answers.values()) <= {200}, answers
    return [r.content for r in got]
