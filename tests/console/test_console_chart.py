"""The overview's themes chart in Chromium: every theme's bar keeps a usable size, on a laptop
and on a phone, however long a theme's name is."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize

from tests.conftest import new_version
from tests.console.test_console_browser import signed_in
from tests.console.test_console_rules import dmy
from tests.support.browser import looked_at
from tests.support.console import MANAGER, daily_run, partnership
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.config.versions import DIRECTORY
from worker.console.chart import LABEL_LENGTH, shortened, status_chart
from worker.console.items import STATUSES

PHONE: ViewportSize = {"width": 375, "height": 800}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
HEADER = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"
LONG_THEME = (
    "Professional curiosity and the voice of the child in multi-agency assessments, "
    "planning, reviews and escalation: any age"
)


def long_theme_plan(app: App, tmp_path: Path) -> None:
    """Two actions under a 120-character theme (added to the directory's themes), one overdue
    and one not yet due."""
    directory = (app.settings.config_dir / "directory.yaml").read_text(encoding="utf-8")
    themes = "themes:\n"
    assert themes in directory
    new_version(app, DIRECTORY, directory.replace(themes, f'{themes}  - "{LONG_THEME}"\n', 1))
    today = app.today()
    rows = [("9.1", today - timedelta(weeks=6)), ("9.2", today + timedelta(weeks=12))]
    path = tmp_path / "long-theme.csv"
    path.write_text(
        HEADER
        + "".join(
            f'Chart plan,{ref},"{LONG_THEME}",A,Action {ref},Health,{dmy(day)},\n'
            for ref, day in rows
        ),
        encoding="utf-8",
    )
    [result] = run_import(app, path)
    assert result.error is None, result.error
    daily_run(app)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_long_theme_name_leaves_every_bar_a_usable_size(
    app: App, browser: Browser, tmp_path: Path, viewport: ViewportSize
) -> None:
    assert len(LONG_THEME) == 120
    partnership(app)
    long_theme_plan(app, tmp_path)
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER)
        page.set_viewport_size(viewport)
        page.goto("/console/")
        looked_at(page, f"{app.engine.dialect.name}-{viewport['width']}-themes-chart")
        chart = page.locator(".app-chart svg")
        drawn = chart.bounding_box()
        plot = page.locator(".app-chart svg .plot > .background").bounding_box()
        assert drawn is not None
        assert plot is not None
        # The bars' area keeps most of the drawing, and stays inside it.
        assert plot["width"] >= 0.5 * drawn["width"], (plot, drawn)
        assert plot["x"] >= drawn["x"] - 1
        assert plot["x"] + plot["width"] <= drawn["x"] + drawn["width"] + 1
        bars = page.locator(".app-chart svg .plot rect.reactive").evaluate_all(
            "found => found.map(r => r.getBoundingClientRect())"
            ".map(b => ({x: b.x, y: b.y, width: b.width, height: b.height}))"
        )
        shown = [b for b in bars if b["width"] > 0]
        assert shown, "no bar is drawn"
        least_height = 12 if viewport is PHONE else 24
        assert min(b["height"] for b in shown) >= least_height, shown
        # Each theme's bar (its segments side by side) reaches across a usable width: the
        # longest is drawn across most of the bars' area, at least a third of the drawing.
        rows: dict[int, float] = {}
        for b in shown:
            rows[round(b["y"])] = rows.get(round(b["y"]), 0) + b["width"]
        assert max(rows.values()) >= drawn["width"] / 3, rows
        # The long name is cut on the chart, titled in full, and whole in the table beside.
        labels = page.locator(".app-chart svg .axis.y text")
        label = labels.filter(has_text="Professional curiosity and")
        assert label.count() == 1
        assert label.text_content() == shortened(LONG_THEME)
        assert max(len(text) for text in labels.all_text_contents()) <= LABEL_LENGTH
        assert label.locator("xpath=following-sibling::*[1]").text_content() == LONG_THEME
        assert page.get_by_role("rowheader", name=LONG_THEME).count() == 1
        page.context.close()


def test_theme_labels_are_cut_at_a_word_and_titled_in_order() -> None:
    names = ["Short <&>", LONG_THEME, "x" * 80, "Exactly " + "y" * (LABEL_LENGTH - 8)]
    svg = str(status_chart({n: dict.fromkeys(STATUSES, 1) for n in names}, "Items by theme"))
    assert shortened(LONG_THEME) == "Professional curiosity and the…"
    assert shortened("x" * 80) == "x" * (LABEL_LENGTH - 1) + "…"
    assert shortened(names[3]) == names[3]
    assert "<title>Short &lt;&amp;&gt;</title>" in svg
    for name in names[1:]:
        assert f"<title>{name}</title>" in svg
    labels = svg[svg.find('<g class="axis y') : svg.find('<g class="axis x')]
    assert labels.count("<title>") == len(names)
    assert all(len(shortened(n)) <= LABEL_LENGTH for n in names)


def test_a_partnership_with_no_theme_yet_still_gets_its_chart() -> None:
    """Before any plan is imported there is no theme: the drawing has no labels to title,
    and the overview must still be served."""
    drawn = status_chart({}, "Items by theme and status")
    assert drawn.startswith('<svg role="img" aria-label="Items by theme and status"')
    assert "<script" not in drawn
