"""One Chromium (Debian's) per test run, driven by Playwright, and axe-core to check pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.services import ROOT

CHROMIUM = "/usr/bin/chromium"
# What a sandboxed machine needs: no sandbox as root, no GPU, and no calls to Google's hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOTS = ROOT / "var" / "screenshots"
AXE = Axe()


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


def looked_at(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/, and no axe-core violation."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    results = AXE.run(page)
    assert results.violations_count == 0, (
        f"{name} ({page.url}): " + json.dumps(results.response["violations"], indent=1)[:4000]
    )
    return shot
