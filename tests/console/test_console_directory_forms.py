"""The directory's forms in the console: filled from a link, refused beside the field,
previewed with what moves, saved as a version with who and why (no YAML typed)."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.conftest import new_version
from tests.support.console import CHAIR, MANAGER, csrf, daily_run, partnership, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY, history
from worker.directory.recipients import Partnership, unknown_la_contacts
from worker.models import ConsoleAction, Obligation

FORMS = "/console/directory/forms"
DCS_PLAN = (
    "Composite Action Plan of the review group\nTheme,Ref,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,Audit the referrals,DCS,2026-01-15\n"
)


def dcs_plan(app: App, folder: Path) -> None:
    """A plan whose one action names its lead "DCS", which no agency answers to."""
    plan = folder / "dcs.csv"
    plan.write_text(DCS_PLAN, encoding="utf-8")
    run_import(app, plan)
    daily_run(app)


def send(client: httpx.Client, form: str, **fields: str | list[str]) -> httpx.Response:
    """The form at `form` posted with `fields`, on the version it was opened on."""
    opened = client.get(f"{FORMS}/{form}")
    base = opened.text.split('name="base" value="')[1].split('"')[0]
    data = {"csrftoken": csrf(opened), "base": base, **fields}
    return client.post(f"{FORMS}/{form}", data=data)


def saved_after_preview(client: httpx.Client, form: str, **fields: str | list[str]
                        ) -> tuple[httpx.Response, httpx.Response]:  # fmt: skip
    """The preview of `fields`, then Save pressed on it."""
    shown = send(client, form, do="preview", **fields)
    assert shown.status_code == 200, html.unescape(shown.text)[:3000]
    previewed = shown.text.split('name="previewed" value="')[1].split('"')[0]
    base = shown.text.split('name="base" value="')[1].split('"')[0]
    done = client.post(f"{FORMS}/{form}", data={"csrftoken": csrf(shown), "base": base,
                       "do": "save", "previewed": previewed, **fields})  # fmt: skip
    return shown, done


def lead_of(app: App) -> tuple[str, str | None]:
    """The one item's kind and agency."""
    with app.sessions() as session:
        [row] = session.scalars(select(Obligation))
        return row.kind, row.agency.name if row.agency else None


def test_an_alias_filled_from_a_link_previewed_and_saved(app: App, tmp_path: Path) -> None:
    dcs_plan(app, tmp_path)
    assert lead_of(app)[0] == "unassigned"
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        filled = client.get(
            f"{FORMS}/alias", params={"alias": "DCS", "agency": "Children's Services"}
        )
        assert 'value="DCS"' in filled.text
        assert "<option selected>Children&#39;s Services</option>" in filled.text
        with app.sessions() as session:
            assert len(history(session, DIRECTORY)) == 1  # a GET changes nothing
        shown, done = saved_after_preview(
            client,
            "alias",
            agency="Children's Services",
            alias="DCS",
            reason="how the plan names them",
        )
        said = html.unescape(shown.text)
        assert "1 of 1 open item would change lead or who is told" in said
        assert "unassigned lead agency 'DCS'" in said
        assert "Practice Lead <practice.lead" in said
        assert done.status_code == 303, done.text[:2000]
        assert "Directory version 2 saved" in client.get(done.headers["location"]).text
    assert lead_of(app) == ("action", "Children's Services")
    with app.sessions() as session:
        newest = history(session, DIRECTORY)[0]
        assert newest.made_by == MANAGER
        assert newest.reason == "'DCS' added as a name of Children's Services: how the plan " \
            "names them"  # fmt: skip
        assert "# Agencies: `aliases` are the ways documents name" in newest.content
        action = session.scalar(select(ConsoleAction).order_by(ConsoleAction.id.desc()))
        assert action is not None
        assert action.action == "directory entry"


def test_a_form_refused_beside_its_field_and_nothing_saved(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        taken = send(client, "alias", do="preview", agency="Health", alias="Constabulary")
        assert taken.status_code == 422
        assert 'id="f-alias-error"' in taken.text
        assert "&#39;Constabulary&#39; already names Police" in taken.text
        bad = send(client, "la-contact", do="preview", name="Daniel Halls", email="nope")
        assert bad.status_code == 422
        assert 'id="f-email-error"' in bad.text
        assert "not a valid email address" in bad.text
        empty = send(client, "establishment", do="preview", name="", email="a@example.org")
        assert 'id="f-name-error"' in empty.text
        assert "fill this in" in empty.text
        unsaid = send(client, "la-contact", do="save", name="Daniel Halls",
                      email="daniel.halls@example.org", previewed="x")  # fmt: skip
        assert unsaid.status_code == 200
        assert "Save as version 2" in unsaid.text
    with app.sessions() as session:
        assert len(history(session, DIRECTORY)) == 1


def test_an_la_contact_added_reaches_the_sheets_that_name_them(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown, done = saved_after_preview(
            client,
            "la-contact",
            name="Daniel Halls",
            email="daniel.halls@example.org",
            phone="",
            agency="Education",
            reason="named by MI 3/17",
        )
        said = html.unescape(shown.text)
        assert "4 of 30 open items would change lead or who is told" in said
        assert "Daniel Halls <daniel.halls@example.org>" in said  # told of MI 3/17 now
        assert done.status_code == 303, done.text[:2000]
    assert [c.name for c in app.directory().la_contacts][-1] == "Daniel Halls"


def test_someone_in_a_role_and_an_establishment_saved(app: App) -> None:
    partnership(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown, done = saved_after_preview(client, "role", agency="Health", role="line_manager",
                                          name="New Head", email="new.head@example.org",
                                          reason="appointed in March")  # fmt: skip
        assert "New Head <new.head@example.org>" in html.unescape(shown.text)
        assert done.status_code == 303
        shown, done = saved_after_preview(
            client,
            "establishment",
            name="Oak Primary School",
            email="dsl@oak.example.org",
            contact="DSL",
            groups=["schools"],
            reason="joined the partnership",
        )
        assert "2 new items would start: MI 3/17, MI 71/16" in html.unescape(shown.text)
        assert done.status_code == 303, done.text[:2000]
    health = next(a for a in app.directory().agencies if a.name == "Health")
    assert [c.name for c in health.contacts if c.role == "line_manager"] == ["New Head"]
    assert app.directory().establishments[-1].groups == ["schools"]


def test_only_the_business_manager_opens_the_forms(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, CHAIR)
        assert client.get(f"{FORMS}/alias").status_code == 403
        client.cookies.clear()
        sign_in(client, app, MANAGER)
        assert client.get(f"{FORMS}/nothing").status_code == 404


def test_a_form_opened_before_another_version_is_never_saved(app: App) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown = send(client, "alias", do="preview", agency="Health", alias="NHS Trust")
        previewed = shown.text.split('name="previewed" value="')[1].split('"')[0]
        text = app.settings.config_dir.joinpath("directory.yaml").read_text(encoding="utf-8")
        new_version(app, DIRECTORY, text + "\n# a note\n")
        stale = client.post(f"{FORMS}/alias", data={"csrftoken": csrf(shown), "base": "1",
                            "do": "save", "previewed": previewed, "agency": "Health",
                            "alias": "NHS Trust", "reason": "x"})  # fmt: skip
        assert "Directory version 2 was saved after you opened this form" in stale.text
    with app.sessions() as session:
        assert len(history(session, DIRECTORY)) == 2


def test_the_overview_and_rules_page_offer_their_forms_filled_in(app: App) -> None:
    partnership(app)  # MI 3/17 names Daniel Halls, whom the directory lacks
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        overview = client.get("/console/").text
        rules = client.get("/console/rules", params={"audience": "Governors"}).text
        filled = client.get(f"{FORMS}/la-contact", params={"name": "Daniel Halls"}).text
    assert 'href="/console/directory/forms/la-contact?name=Daniel+Halls"' in overview
    assert 'name="audience" value="Governors"' in rules
    assert 'id="f-name" name="name" value="Daniel Halls"' in filled
    with app.sessions() as session:
        assert len(history(session, DIRECTORY)) == 1  # looking changes nothing
        [unknown, *_] = unknown_la_contacts(session, Partnership.load(session), app.timezone)
    assert "add them in the console (Directory, Add an LA contact)" in unknown.problem
