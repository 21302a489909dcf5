"""One Chromium (Debian's) per test run, driven by Playwright; each page looked at is
photographed, checked by axe-core, and its HTML as served checked by the Nu HTML Checker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Response, sync_playwright

from tests.support.services import ROOT, NuChecker

CHROMIUM = "/usr/bin/chromium"
# What a sandboxed machine needs: no sandbox as root, no GPU, and no calls to Google's hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOTS = ROOT / "var" / "screenshots"
AXE = Axe()
MARKUP_WARNINGS = SHOTS / "markup-warnings.txt"
CHECKER: list[NuChecker] = []  # the session's checker, put here by its fixture
DOCUMENTS: dict[Page, Response] = {}  # the last document each watched page received


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, base: str, downloads: bool = False) -> Page:
    """A browser of its own (a new context) on `base`, its documents kept for the check."""
    page = browser.new_context(base_url=base, accept_downloads=downloads).new_page()

    def keep(response: Response) -> None:
        if response.request.resource_type == "document" and response.frame == page.main_frame:
            DOCUMENTS[page] = response

    page.on("response", keep)
    return page


def looked_at(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/, no axe-core violation, and no error
    from the Nu HTML Checker in the page as the server sent it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    results = AXE.run(page)
    assert results.violations_count == 0, (
        f"{name} ({page.url}): " + json.dumps(results.response["violations"], indent=1)[:4000]
    )
    assert page in DOCUMENTS, f"{name}: make the page with tests.support.browser.new_page"
    valid_markup(DOCUMENTS[page].body(), f"{name} ({page.url})")
    return shot


def valid_markup(html: bytes, name: str) -> None:
    """No error from the Nu HTML Checker; its warnings listed in var/screenshots/."""
    errors, warnings = CHECKER[0].check(html)
    assert errors == [], f"{name}: the Nu HTML Checker found errors:\n" + "\n".join(errors)
    if warnings:
        SHOTS.mkdir(parents=True, exist_ok=True)
        with MARKUP_WARNINGS.open("a", encoding="utf-8") as listed:
            listed.write("".join(f"{name}: {w}\n" for w in warnings))
