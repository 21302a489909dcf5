"""The README and the guides: every link leads somewhere, every path they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path in backticks under one of the project's folders, e.g. `worker/feeds/files.py`.
NAMED_PATH = re.compile(r"`((?:worker|tests|tasks|config|templates|benchmarks|scripts|examples|"
                        r"docs|requirements)/[\w./-]*)`")  # fmt: skip


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation gone, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
    return {slug(h) for h in headings}


def test_slugs_follow_github() -> None:
    assert slug("Setting up, testing, moving the lock") == "setting-up-testing-moving-the-lock"
    assert slug("`--json` shapes") == "--json-shapes"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_leads_somewhere(page: Path) -> None:
    dead = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            dead.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(file):
            dead.append(f"{target}: no heading #{anchor} in {file.name}")
    assert dead == [], f"{page.name}: {dead}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_path_named_exists(page: Path) -> None:
    missing = [p for p in NAMED_PATH.findall(page.read_text(encoding="utf-8"))
               if not (ROOT / p.rstrip("/.")).exists()]  # fmt: skip
    assert missing == [], f"{page.name} names paths that do not exist: {missing}"


def test_the_readme_is_short_starts_with_the_two_commands_and_links_every_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    commands = [line.strip() for line in readme.splitlines() if line.startswith("    scripts/")]
    assert commands[:2] == ["scripts/run", "scripts/test"]
    guides = {p.name for p in (ROOT / "docs").glob("*.md")}
    linked = {Path(t).name for t in LINK.findall(readme) if t.startswith("docs/")}
    assert guides <= linked, f"guides not linked from the README: {sorted(guides - linked)}"
