"""The console in a real browser (Debian's Chromium, Playwright), each page checked by axe-core
and photographed under var/screenshots/: sign in from the mail in the outbox, the overview, a
filter, acknowledge, complete, the chair refused, a forged CSRF token refused, sign out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from tests.conftest import new_version
from tests.console.test_console import mails, outbox_app
from tests.console.test_console_directory import SUCCESSOR, refuse
from tests.console.test_console_rules import soon_due_plan
from tests.delivery.test_reliability import make_scene
from tests.importers.test_other_plans import ACTION_LOG, as_excel
from tests.obligations.test_recommendations import imported
from tests.support.browser import looked_at, new_page
from tests.support.console import (
    CHAIR,
    MANAGER,
    NURSE,
    POLICE,
    daily_run,
    link_token,
    partnership,
)
from tests.support.services import wait_for
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY, RULES
from worker.models import Action, ConsoleAction, ObligationEvent


def recorded(app: App) -> tuple[int, int]:
    with app.sessions() as session:
        return (session.scalar(select(func.count(ObligationEvent.id))) or 0,
                session.scalar(select(func.count(ConsoleAction.id))) or 0)  # fmt: skip


def link_from_outbox(outbox: Path) -> str:
    wait_for(lambda: len(list(outbox.glob("*.eml"))) == 1, 10, "the sign-in mail")
    [message] = mails(outbox)
    body = message.get_body(("plain",))
    assert body is not None
    words: list[str] = body.get_content().split()
    return next(w for w in words if "/console/sign-in/" in w)


def sign_in_by_mail(page: Page, base: str, outbox: Path, name: str) -> None:
    page.goto(f"{base}/console/sign-in")
    looked_at(page, f"{name}-01-sign-in")
    page.get_by_label("E-mail address").fill(MANAGER)
    page.keyboard.press("Enter")  # the keyboard alone
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    looked_at(page, f"{name}-02-link-sent")
    link = link_from_outbox(outbox).replace("http://localhost:8000", base)
    page.goto(link)
    looked_at(page, f"{name}-03-sign-in-button")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


WIDTHS = {"desktop": 1280, "phone": 375}


def signed_in(browser: Browser, app: App, base: str, email: str, width: int = 1280) -> Page:
    """A browser of its own for `email`, `width` pixels wide, signed in with a fresh
    one-time link (downloads allowed)."""
    page = new_page(browser, base, downloads=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/console/sign-in/{link_token(app, email)}")
    page.get_by_role("button", name="Sign in").click()
    return page


def test_the_console_in_a_browser(app: App, browser: Browser, tmp_path: Path) -> None:
    name = app.engine.dialect.name
    outbox = tmp_path / "outbox"
    outbox_app(app, outbox)
    partnership(app)
    rules = (app.settings.config_dir / "escalation.yaml").read_text(encoding="utf-8")
    new_version(app, RULES, rules + "\n# Reviewed by the board in November.\n")
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = new_page(browser, base)
        sign_in_by_mail(page, base, outbox, name)
        looked_at(page, f"{name}-04-overview")
        expect(page.get_by_role("table").first).to_be_visible()

        page.get_by_role("link", name="Items", exact=True).click()
        page.get_by_label("Agency").select_option("Health")
        page.get_by_label("Status").select_option("overdue")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("status")).to_contain_text("2 items")
        looked_at(page, f"{name}-05-items-filtered")

        page.get_by_role("table").get_by_role("link").first.click()
        looked_at(page, f"{name}-06-item")
        page.get_by_label("Progress note").first.fill("Audit booked for next month.")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("status")).to_contain_text("acknowledge")
        expect(page.get_by_role("cell", name="Audit booked for next month.")).to_be_visible()
        looked_at(page, f"{name}-07-acknowledged")
        page.get_by_role("button", name="Mark complete").click()
        expect(page.get_by_role("status")).to_contain_text("complete")
        expect(page.get_by_role("button", name="Mark complete")).to_have_count(0)
        looked_at(page, f"{name}-08-completed")
        item_address = page.url.split("?")[0]

        for link, shot in [("My items", "09-mine"), ("Deliveries", "10-deliveries"),
                           ("Calendars", "11-calendars"), ("People signed in", "12-people")]:  # fmt: skip
            page.get_by_role("link", name=link, exact=True).click()
            looked_at(page, f"{name}-{shot}")

        page.get_by_role("link", name="Versions", exact=True).click()
        page.get_by_label("From version").select_option("1")
        page.get_by_label("To version").select_option("2")
        page.get_by_role("button", name="Compare").click()
        expect(
            page.get_by_role("cell", name="# Reviewed by the board in November.")
        ).to_be_visible()
        looked_at(page, f"{name}-12a-versions-compared")
        page.get_by_label("Why put version 1 back").fill("The note goes back in the minutes.")
        page.get_by_role("button", name="Put version 1 back").click()
        expect(page.get_by_role("status")).to_contain_text("Version 3 saved")
        looked_at(page, f"{name}-12b-version-put-back")

        chair = signed_in(browser, app, base, CHAIR)
        chair.goto(item_address)
        expect(chair.get_by_role("button", name="Acknowledge")).to_have_count(0)
        looked_at(chair, f"{name}-13-item-as-chair")
        before = recorded(app)
        token = chair.locator('input[name="csrftoken"]').first.get_attribute("value") or ""
        refused = chair.request.post(f"{item_address}/note",
                                     form={"csrftoken": token, "note": "the chair"})  # fmt: skip
        assert refused.status == 403
        forged = page.request.post(f"{item_address}/note",
                                   form={"csrftoken": "forged", "note": "forged"})  # fmt: skip
        assert forged.status == 403
        assert recorded(app) == before

        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("You have signed out")
        looked_at(page, f"{name}-14-signed-out")
        page.goto("/console/")
        expect(
            page.get_by_role("heading", name="Sign in to the partnership console")
        ).to_be_visible()
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_rules_edited_previewed_saved_and_put_back_in_a_browser(
    app: App, browser: Browser, width: str, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-rules-{width}"
    soon_due_plan(app, tmp_path)
    directory = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
    police_manager = re.compile(r"\n +- \{role: line_manager, name: Detective Inspector[^\n]*")
    new_version(app, DIRECTORY, police_manager.sub("", directory))
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER, WIDTHS[width])
        page.get_by_role("link", name="Rules", exact=True).click()
        looked_at(page, f"{name}-01-form")

        stage_two = page.locator("#f-stages-1-enters-after")
        stage_two.fill("soon")
        page.get_by_role("button", name="Preview the changes").click()
        expect(page.locator("#f-stages-1-enters-after-error")).to_contain_text(
            "must be a whole number, got 'soon'"
        )
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        looked_at(page, f"{name}-02-refused")

        page.locator("#f-stages-1-enters-after").fill("2")
        page.get_by_label("Closure day 1", exact=True).fill("2026-12-29")  # the date picker
        page.get_by_role("button", name="Preview the changes").click()
        expect(page.locator("#preview-summary")).to_contain_text("1 of 2 live items")
        expect(page.locator("#moved")).to_contain_text("9.1 (Rules plan)")
        expect(page.locator("#warnings")).to_contain_text(
            "stages[1].tell: tells nobody at Police, which has no line_manager"
        )
        looked_at(page, f"{name}-03-preview")

        page.get_by_label("Why the rules change").fill("Stage 2 sooner, agreed at the board")
        page.get_by_role("button", name="Save as version 2").click()
        expect(page.get_by_role("status")).to_contain_text("Rules version 2 saved")
        expect(page.locator("#f-stages-1-enters-after")).to_have_value("2")
        looked_at(page, f"{name}-04-saved")
        assert app.rules().stages[1].enters_after.amount == 2
        assert app.rules().closure_days == [date(2026, 12, 29)]

        page.get_by_role("link", name="Versions", exact=True).click()
        page.get_by_label("Why put version 1 back").fill("The board asked for five days again.")
        page.get_by_role("button", name="Put version 1 back").click()
        expect(page.get_by_role("status")).to_contain_text("Version 3 saved")
        looked_at(page, f"{name}-05-put-back")
    assert app.rules().stages[1].enters_after.amount == 5


@pytest.mark.parametrize("width", WIDTHS)
def test_someone_leaves_and_a_refused_address_is_corrected_in_a_browser(
    app: App, browser: Browser, width: str
) -> None:
    name = f"{app.engine.dialect.name}-directory-{width}"
    partnership(app)
    refuse(app, POLICE)
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in(browser, app, base, MANAGER, WIDTHS[width])
        page.get_by_role("navigation").get_by_role("link", name="Directory").click()
        expect(page.locator("#refused ~ .app-scroll table").first).to_contain_text(
            "550 5.1.1 no such user"
        )
        looked_at(page, f"{name}-01-page")

        page.get_by_label("Who leaves").select_option(NURSE)
        page.get_by_label("Successor's e-mail address").fill(SUCCESSOR)
        page.get_by_label("Successor's name").fill("Nadia Nurse")
        page.locator("#why-leaves").fill("Retired at the end of November")
        page.get_by_role("button", name="Hand every role over").click()
        expect(page.get_by_role("status")).to_contain_text("Directory version 2 saved")
        expect(page.get_by_role("cell", name=SUCCESSOR, exact=True)).to_be_visible()
        looked_at(page, f"{name}-02-handed-over")

        page.get_by_label(f"Corrected address for {POLICE}").fill("ds.police@example.org")
        page.locator("#why-corrected-1").fill("The address had a typo")
        page.get_by_role("button", name="Correct and send what was held").click()
        expect(page.get_by_role("status")).to_contain_text("corrected to ds.police@example.org")
        looked_at(page, f"{name}-03-corrected")

        today = app.today()
        page.get_by_label("Who is away").select_option("police.di@example.org")
        page.get_by_label("Covering: e-mail address").fill("acting.di@example.org")
        page.get_by_label("Covering: name").fill("Acting Detective Inspector")
        page.get_by_label("From").fill(today.isoformat())
        page.get_by_label("To (included)").fill((today + timedelta(days=14)).isoformat())
        page.locator("#why-cover").fill("Secondment for two weeks")
        page.get_by_role("button", name="Set the cover").click()
        expect(page.get_by_role("status")).to_contain_text("covers for police.di@example.org")
        expect(page.locator("#cover + .app-scroll table")).to_contain_text(
            "Acting Detective Inspector"
        )
        looked_at(page, f"{name}-04-cover")
        page.get_by_role("link", name="Edit the whole directory").click()
        page.get_by_label("The directory").fill("agencies: 7\n")
        page.get_by_label("Why it changes").fill("a slip")
        page.get_by_role("button", name="Check and save").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        looked_at(page, f"{name}-04b-edit-refused")

        successor = signed_in(browser, app, base, SUCCESSOR)
        successor.get_by_role("link", name="My items", exact=True).click()
        expect(successor.get_by_role("table").first).to_contain_text("Health")
        looked_at(successor, f"{name}-05-successor-items")


@pytest.mark.parametrize("width", WIDTHS)
def test_documents_uploaded_previewed_imported_and_downloaded_in_a_browser(
    app: App, browser: Browser, width: str, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-imports-{width}"
    word = word_plan(tmp_path / "plan.docx")
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in(browser, app, base, MANAGER, WIDTHS[width])
        page.get_by_role("navigation").get_by_role("link", name="Imports").click()
        expect(page.get_by_text("No document has been imported yet.")).to_be_visible()
        looked_at(page, f"{name}-01-page")

        vague = tmp_path / "vague.csv"
        vague.write_text(VAGUE_PLAN, encoding="utf-8")
        page.get_by_label("Documents").set_input_files([word, vague])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.get_by_role("heading", name="plan.docx: Composite Action Plan")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Spring 2027")
        assert imported_refs(app) == []  # the preview stored nothing
        looked_at(page, f"{name}-02-preview")

        page.get_by_role("button", name="Confirm and import the ticked documents").click()
        expect(page.get_by_role("status")).to_contain_text("1 document imported")
        assert imported_refs(app) == ["1.1", "1.2"]
        looked_at(page, f"{name}-03-history")
        with page.expect_download() as download:
            page.get_by_role("link", name="plan.docx").click()
        assert Path(download.value.path()).read_bytes() == word.read_bytes()
        assert download.value.suggested_filename == "plan.docx"


VAGUE_PLAN = (
    "Composite Action Plan of the review group\nTheme,Ref,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,Audit the referrals,Health,Spring 2027\n"
)


def word_plan(path: Path) -> Path:
    document = Document()
    document.add_heading("Composite Action Plan of the review group", level=1)
    document.add_heading("Professional curiosity", level=2)
    rows = [
        ["Ref", "SCR Ref", "Action", "Lead agency", "Target date", "RAG"],
        ["1.1", "LCSPR Child D", "Audit the referrals", "Health", "end of June 2027", "Amber"],
        ["1.2", "Rapid Review E", "Train the front door", "Police", "TBC", "Red"],
    ]
    table = document.add_table(rows=0, cols=len(rows[0]))
    for cells in rows:
        for cell, text in zip(table.add_row().cells, cells, strict=True):
            cell.text = text
    document.save(str(path))
    return path


def imported_refs(app: App) -> list[str]:
    with app.sessions() as session:
        return [a.ref for a in session.scalars(select(Action).order_by(Action.ref))]


def test_a_recommendation_linked_and_the_cap_report_read_in_a_browser(
    app: App, browser: Browser, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-recommendations"
    imported(app, tmp_path)  # a briefing of Child D, and a plan whose 1.1 names Child D
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in(browser, app, base, MANAGER)
        page.get_by_role("navigation").get_by_role("link", name="Recommendations").click()
        expect(page.locator("#r1")).to_contain_text("No action yet.")
        looked_at(page, f"{name}-01-page")
        page.locator("#r1").get_by_role(
            "button", name=re.compile("Action 1.1 .* answers it")
        ).click()
        expect(page.get_by_role("status")).to_contain_text("answered by action 1.1")
        expect(page.locator("#r1")).to_contain_text("linked by business.manager@example.org")
        looked_at(page, f"{name}-02-linked")

        page.get_by_role("navigation").get_by_role("link", name="Imports").click()
        page.get_by_role("link", name="Web page").click()  # opens here, not downloaded
        expect(page).to_have_url(re.compile(r"/console/reports/cap\.html\?plan="))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Composite Action Plan of the review group"
        )
        expect(page.locator("body")).to_have_css("margin-top", "24px")  # its own style applies
        looked_at(page, f"{name}-03-cap-report")


def test_a_plan_nobody_named_mapped_in_a_browser(
    app: App, browser: Browser, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-columns"
    log = as_excel(tmp_path / "action-log", ACTION_LOG)
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.goto("/console/imports")
        page.get_by_label("Documents").set_input_files([log])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.get_by_role("heading", name="Say which column holds what")).to_be_visible()
        expect(page.get_by_label("Action (needed)")).to_have_value("1")  # its heading's guess
        looked_at(page, f"{name}-01-choose")
        page.get_by_label("Lead agency (needed)").select_option(label="Action Point")
        page.get_by_role("button", name="Preview with these columns").click()
        problem = page.get_by_role("alert").filter(has_text="These columns cannot be read")
        expect(problem).to_contain_text("are both the column 'Action Point'")
        looked_at(page, f"{name}-02-problem")
        page.get_by_label("Lead agency (needed)").select_option(label="Lead")
        page.get_by_label("Target date").select_option("none")
        page.get_by_role("button", name="Preview with these columns").click()
        expect(page.get_by_text("Read with the columns you chose")).to_be_visible()
        looked_at(page, f"{name}-03-preview")
        assert imported_refs(app) == []
        page.get_by_role("button", name="Confirm and import the ticked documents").click()
        expect(page.get_by_role("status")).to_contain_text("1 document imported")
    assert imported_refs(app) == ["1", "2"]


def test_the_items_paged_in_a_browser(
    database_url: str, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_scene(database_url, tmp_path, monkeypatch)  # 200 schools owe MI sheet 3/17
    daily_run(app)
    with serving(app) as client:
        base = str(client.base_url).rstrip("/")
        page = signed_in(browser, app, base, MANAGER)
        page.goto("/console/items")
        pages = page.get_by_role("navigation", name="Pages")
        expect(pages.get_by_role("link", name="Page 1")).to_have_attribute("aria-current", "page")
        pages.get_by_role("link", name="Next page").click()
        expect(page).to_have_url(re.compile(r"page=2"))
        expect(page.get_by_role("navigation", name="Pages").get_by_role(
            "link", name="Page 2")).to_have_attribute("aria-current", "page")  # fmt: skip
        looked_at(page, f"{app.engine.dialect.name}-items-page-2")
    app.close()
