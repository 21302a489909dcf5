"""The accessibility statement and the privacy notice (public, linked from every page's
footer, their variable parts from the settings and the rules), the stylesheet they and every
page use (GOV.UK Frontend, served with a long cache, no GDS Transport, no crown), and the
Content-Security-Policy that allows no inline style."""

from __future__ import annotations

import re
from datetime import date

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import new_version
from tests.support.browser import looked_at, new_page
from tests.support.console import MANAGER, sign_in
from tests.support.web import serving
from worker.app import App
from worker.config.versions import RULES
from worker.settings import Accessibility, KnownIssue, Privacy, load_settings
from worker.web.assets import ASSETS_DIR, STYLESHEET

STATEMENT = Accessibility(
    contact_email="access@partnership.example.org",
    reply_days=7,
    status="partially",
    status_text="This service is partially compliant, for the reasons below (test).",
    known_issues=(KnownIssue(text="The rules preview scrolls sideways on a phone (test)."),),
    last_tested=date(2027, 3, 1),
    how_tested="Tested by the partnership's own access panel (test).",
)
NOTICE = Privacy(controller="Norbury Safeguarding Partnership (test)",
                 contact_email="dpo@partnership.example.org")  # fmt: skip
FOOTER_LINKS = ('href="/accessibility">Accessibility statement</a>',
                'href="/privacy">Privacy notice</a>')  # fmt: skip


def with_settings(app: App) -> App:
    app.settings = app.settings.model_copy(update={"accessibility": STATEMENT, "privacy": NOTICE})
    return app


def footer_linked(page: httpx.Response) -> bool:
    return all(link in page.text for link in FOOTER_LINKS)


def test_the_statement_and_the_notice_say_what_the_settings_and_rules_say(app: App) -> None:
    rules = (app.settings.config_dir / "escalation.yaml").read_text(encoding="utf-8")
    new_version(app, RULES, rules.replace("digests: 12 ", "digests: 18 ").replace(
        "  holds: []", "    console_actions: 72\n  holds: []"))  # fmt: skip
    with serving(with_settings(app)) as client:
        statement, notice = client.get("/accessibility"), client.get("/privacy")
        refused = client.post("/accessibility")
    assert (statement.status_code, notice.status_code, refused.status_code) == (200, 200, 405)
    for said in ("access@partnership.example.org", "get back to you in 7 working days",
                 "partially compliant, for the reasons below (test)",
                 "scrolls sideways on a phone (test)", "last tested on 1 March 2027",
                 "own access panel (test)", "Equality and Human Rights Commission",
                 "Equality Commission for Northern Ireland"):  # fmt: skip
        assert said in statement.text, said
    kept = notice.text[notice.text.index('id="retention"') :]
    assert "18 months after the digest&#39;s sending" in kept  # from the rules in force
    assert "72 months after the day of the action" in kept
    assert "12 months after a link&#39;s making" in kept
    assert "Norbury Safeguarding Partnership (test)" in notice.text
    assert "dpo@partnership.example.org" in notice.text
    assert "Subject access" in notice.text
    assert "Erasure" in notice.text


# Every section of GOV.UK's sample accessibility statement, and the wording it requires.
SAMPLE_HEADINGS = (
    "How accessible this website is",
    "Feedback and contact information",
    "Reporting accessibility problems with this website",
    "Enforcement procedure",
    "Technical information about this website's accessibility",
    "Compliance status",
    "Non-accessible content",
    "Non-compliance with the accessibility regulations",
    "Disproportionate burden",
    "Content that's not within the scope of the accessibility regulations",
    "How we tested this website",
    "Preparation of this accessibility statement",
)


def test_the_statement_has_every_part_of_the_sample_statement(app: App) -> None:
    issue = KnownIssue(text="The rules preview scrolls sideways (test).",
                       criteria=("1.4.10 Reflow",), fix_by=date(2027, 5, 31))  # fmt: skip
    statement = STATEMENT.model_copy(update={
        "known_issues": (issue,), "run_by": "Norbury Safeguarding Partnership (test)",
        "disproportionate_burden": ("Old charts (test).",), "last_reviewed": date(2027, 4, 2)})  # fmt: skip
    app.settings = app.settings.model_copy(update={"accessibility": statement})
    with serving(app) as client:
        page = client.get("/accessibility").text
    headings = re.findall(r"<h[23][^>]*>(.*?)</h[23]>", page)
    assert [h for h in headings if h in SAMPLE_HEADINGS] == list(SAMPLE_HEADINGS)
    for said in ("This accessibility statement applies to",
                 "This website is run by Norbury Safeguarding Partnership (test).",
                 "This fails WCAG 2.2 success criterion 1.4.10 Reflow.",
                 "We plan to fix this by 31 May 2027.", "Old charts (test).",
                 "It was last reviewed on 2 April 2027."):  # fmt: skip
        assert said in page, said
    default = load_settings().accessibility  # the defaults name a criterion and a date too
    assert default.known_issues[0].criteria
    assert default.known_issues[0].fix_by


def test_every_kind_of_page_links_to_them(app: App) -> None:
    with serving(app) as client:
        public = client.get("/")
        missing = client.get("/nothing/here")
        link = client.get("/links/acknowledge/not-a-real-token")
        signin = client.get("/console/sign-in")
        sign_in(client, app, MANAGER)
        console = client.get("/console/mine")
    assert (public.status_code, missing.status_code, console.status_code) == (200, 404, 200)
    for page in (public, missing, link, signin, console):
        assert footer_linked(page), page.url


def test_the_stylesheet_is_served_long_cached_and_unbranded(app: App) -> None:
    with serving(app) as client:
        page = client.get("/privacy")
        address = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.text)
        assert address is not None
        assert address.group(1).startswith("/assets/service.css?v=")
        sheet = client.get(address.group(1))
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "text/css; charset=utf-8"
    assert sheet.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert sheet.content == (ASSETS_DIR / STYLESHEET).read_bytes()
    assert ".govuk-service-navigation" in sheet.text  # GOV.UK Frontend, built
    for branding in ("GDS Transport", "govuk-crest", "url("):  # no font, crown or image
        assert branding not in sheet.text, branding
    assert "font-family:arial,sans-serif" in sheet.text


def test_no_inline_style_is_allowed_and_no_page_carries_one(app: App) -> None:
    with serving(app) as client:
        pages = [client.get(p) for p in ("/", "/accessibility", "/privacy", "/nothing")]
        sign_in(client, app, MANAGER)
        pages += [client.get(p) for p in ("/console/", "/console/items", "/console/rules")]
    for page in pages:
        policy = page.headers["content-security-policy"]
        assert "unsafe-inline" not in policy, page.url
        assert "style-src 'self'" in policy, page.url
        for inline in ("<style", " style=", "<script"):
            assert inline not in page.text, (page.url, inline)
        for branding in ("govuk-header__logotype", "crown", "GDS Transport"):
            assert branding not in page.text, (page.url, branding)


def test_the_statement_and_the_notice_in_a_browser(app: App, browser: Browser) -> None:
    with serving(with_settings(app)) as client:
        page = new_page(browser, str(client.base_url).rstrip("/"))
        page.goto("/")
        page.get_by_role("link", name="Accessibility statement").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Accessibility statement")
        looked_at(page, f"{app.engine.dialect.name}-statement-01-accessibility")
        page.get_by_role("link", name="Privacy notice").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Privacy notice")
        expect(page.locator("#retention")).to_contain_text("12 months after")
        looked_at(page, f"{app.engine.dialect.name}-statement-02-privacy")
        font = page.locator("h1").evaluate("h => getComputedStyle(h).fontFamily")
        assert font == "arial, sans-serif"  # the stylesheet applied: no GDS Transport
        page.context.close()
