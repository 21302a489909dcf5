"""The directory's forms in a real browser at both widths, each page checked by axe-core and
the Nu HTML checker: the business manager adds a name for an agency, someone in a role, an
LA contact and an establishment, sees what each moves, saves it, and the items follow; a
warning in an import's preview opens its form filled in, and once saved it is gone from
the next preview. No step types YAML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.console.test_console_browser import WIDTHS, signed_in
from tests.console.test_console_directory_forms import DCS_PLAN, dcs_plan
from tests.support.browser import looked_at
from tests.support.console import MANAGER, partnership
from tests.support.web import serving
from worker.app import App
from worker.directory.recipients import Partnership, unknown_la_contacts
from worker.models import Contact, Obligation, Role


@dataclass(frozen=True)
class Case:
    link: str  # on the directory page
    fill: Callable[[Page], None]
    moves: str  # what the preview says
    follows: Callable[[App], bool]  # the items and people after saving


def alias(page: Page) -> None:
    page.get_by_label("Agency", exact=True).select_option("Children's Services")
    page.get_by_label("The name documents give it").fill("DCS")


def role(page: Page) -> None:
    page.get_by_label("Agency", exact=True).select_option("Health")
    page.get_by_label("Role").select_option("line_manager")
    page.get_by_label("Name", exact=True).fill("Nia Head")
    page.get_by_label("E-mail address").fill("nia.head@example.org")


def la_contact(page: Page) -> None:
    page.get_by_label("Name, as MI sheets write it").fill("Daniel Halls")
    page.get_by_label("E-mail address").fill("daniel.halls@example.org")
    page.get_by_label("Agency whose calendar shows their sheets (optional)").select_option(
        "Education"
    )


def establishment(page: Page) -> None:
    page.get_by_label("Name", exact=True).fill("Oak Primary School")
    page.get_by_label("Designated safeguarding lead's e-mail address").fill("dsl@oak.example.org")
    page.get_by_label("schools").check()


def dcs_is_childrens_services(app: App) -> bool:
    with app.sessions() as session:
        [row] = session.scalars(select(Obligation))
        return row.agency is not None and row.agency.name == "Children's Services"


def nia_manages_the_nurse(app: App) -> bool:
    with app.sessions() as session:
        nurse = session.scalar(
            select(Contact).where(Contact.email == "designated.nurse@example.org")
        )
        return nurse is not None and nurse.line_manager is not None \
            and nurse.line_manager.email == "nia.head@example.org"  # fmt: skip


def halls_is_known(app: App) -> bool:
    with app.sessions() as session:
        unknown = unknown_la_contacts(session, Partnership.load(session), app.timezone)
        halls = session.scalar(select(Contact).where(Contact.role == Role.LA_CONTACT,
                                                     Contact.name == "Daniel Halls"))  # fmt: skip
        return halls is not None and "Daniel Halls" not in {u.name for u in unknown}


def oak_has_its_sheets(app: App) -> bool:
    with app.sessions() as session:
        query = select(Obligation).where(Obligation.establishment.has(name="Oak Primary School"))
        return len(list(session.scalars(query))) == 2  # MI 3/17 and 71/16, sent to schools


CASES = {
    "alias": Case("Add a name for an agency", alias, "1 of 1 open item would change lead",
                  dcs_is_childrens_services),
    "role": Case("Someone in a role of an agency", role, "open items would change lead or who",
                 nia_manages_the_nurse),
    "la-contact": Case("Add an LA contact", la_contact, "4 of 30 open items would change",
                       halls_is_known),
    "establishment": Case("Add an establishment", establishment, "2 new items would start",
                          oak_has_its_sheets),
}  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("form", CASES)
def test_a_directory_form_previewed_and_saved_in_a_browser(
    app: App, browser: Browser, form: str, width: str, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-directory-form-{form}-{width}"
    case = CASES[form]
    if form == "alias":
        dcs_plan(app, tmp_path)  # an item whose lead is "DCS"
    else:
        partnership(app)
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER, WIDTHS[width])
        page.get_by_role("navigation").get_by_role("link", name="Directory").click()
        page.get_by_role("link", name=case.link).click()
        looked_at(page, f"{name}-01-form")
        if form == "alias":  # refused beside its field, nothing saved
            page.get_by_label("Agency", exact=True).select_option("Health")
            page.get_by_label("The name documents give it").fill("Constabulary")
            page.get_by_role("button", name="Check and preview").click()
            expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
            expect(page.locator("#f-alias-error")).to_contain_text("already names Police")
            looked_at(page, f"{name}-02-refused")
        case.fill(page)
        page.get_by_role("button", name="Check and preview").click()
        expect(page.locator("#preview-summary")).to_contain_text(case.moves)
        expect(page.locator("#preview-summary")).to_contain_text("never completes or withdraws")
        looked_at(page, f"{name}-03-preview")
        page.get_by_label("Why the directory changes").fill("Agreed at the board")
        page.get_by_role("button", name="Save as version 2").click()
        expect(page.get_by_role("status")).to_contain_text("Directory version 2 saved")
        looked_at(page, f"{name}-04-saved")
    assert case.follows(app)


def test_an_import_warning_fixed_from_its_filled_in_form_in_a_browser(
    app: App, browser: Browser, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-import-warning-fixed"
    plan = tmp_path / "plan.csv"
    plan.write_text(DCS_PLAN.replace(",DCS,", ",Childrens Service,"), encoding="utf-8")
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.goto("/console/imports")
        page.get_by_label("Documents").set_input_files([plan])
        page.get_by_role("button", name="Upload and preview").click()
        warnings = page.locator("#morning-warnings")
        expect(warnings).to_contain_text("“Childrens Service” matches no agency")
        looked_at(page, f"{name}-01-preview-warns")
        warnings.get_by_role("link", name="Add it as a name of its agency").click()
        expect(page.get_by_label("The name documents give it")).to_have_value("Childrens Service")
        expect(page.get_by_label("Agency", exact=True)).to_have_value("Children's Services")
        looked_at(page, f"{name}-02-form-filled-in")
        page.get_by_role("button", name="Check and preview").click()
        page.get_by_label("Why the directory changes").fill("How the review group writes it")
        page.get_by_role("button", name="Save as version 2").click()
        expect(page.get_by_role("status")).to_contain_text("Directory version 2 saved")

        page.goto("/console/imports")
        page.get_by_label("Documents").set_input_files([plan])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.locator("#morning-told")).to_contain_text("Practice Lead")
        expect(page.get_by_text("matches no agency")).to_have_count(0)
        looked_at(page, f"{name}-03-next-preview-clear")
