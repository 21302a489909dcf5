"""A partnership brings in the plan it already has, in a real browser at both widths: the
preview offers to start the ladder today and says why, shows the morning after (items per
stage, who would be told) and what to put right first; the other choice is shown on request;
confirmed from today, no item stands above stage 0 on the import day."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.console.test_console_browser import WIDTHS, signed_in
from tests.support.browser import looked_at
from tests.support.console import MANAGER
from tests.support.web import serving
from worker.app import App
from worker.models import Obligation, Plan

PLAN = "Composite Action Plan 2017 of the review group"
OLD_PLAN = (
    f"{PLAN}\n"
    "Theme,Ref,Action,Lead agency,Target date\n"
    "Professional curiosity,1.1,Audit the referrals,Health,31 March 2017\n"
    "Professional curiosity,1.2,Train the front door,Police,30 June 2017\n"
    "Professional curiosity,1.3,Review the strategy meetings,Childrens Service,29 Sept 2017\n"
)


def stages(app: App) -> list[int]:
    with app.sessions() as session:
        return list(
            session.scalars(select(Obligation.stage).where(Obligation.action_id.is_not(None)))
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_an_old_plan_adopted_from_today_in_a_browser(
    app: App, browser: Browser, width: str, tmp_path: Path
) -> None:
    name = f"{app.engine.dialect.name}-adoption-{width}"
    plan = tmp_path / "old-plan.csv"
    plan.write_text(OLD_PLAN, encoding="utf-8")
    top = app.rules().ladder().top
    with serving(app) as client:
        page = signed_in(browser, app, str(client.base_url).rstrip("/"), MANAGER, WIDTHS[width])
        page.goto("/console/imports")
        page.get_by_label("Documents").set_input_files([plan])
        page.get_by_role("button", name="Upload and preview").click()
        expect(page.get_by_role("radio", name="From today")).to_be_checked()
        expect(page.get_by_text("“From today” is chosen because 3 of its 3 dated actions"))\
            .to_be_visible()  # fmt: skip
        warnings = page.locator("#morning-warnings")
        expect(warnings).to_contain_text("“Childrens Service” matches no agency")
        expect(warnings).to_contain_text("It might be Children's Services")
        expect(warnings.get_by_role("link").first).to_have_attribute(
            "href", "/console/directory/forms/alias?alias=Childrens+Service"
            "&agency=Children%27s+Services")  # its form, filled in  # fmt: skip
        expect(page.locator("#morning-stages")).to_contain_text("stage 1")
        expect(page.locator("#morning-told")).to_contain_text("Designated Nurse")
        looked_at(
            page, f"{name}-01-offered-from-today"
        )  # the guide's docs/screens/morning-after.png

        page.get_by_role("radio", name="As dated").check()
        page.get_by_role("button", name="Show the morning after with this choice").click()
        expect(page.get_by_role("radio", name="As dated")).to_be_checked()
        expect(page.locator("#morning-stages")).to_contain_text(f"stage {top}")
        expect(page.locator("#morning-stages")).not_to_contain_text("stage 1")
        assert stages(app) == []  # previews store nothing
        looked_at(page, f"{name}-02-as-dated")

        page.get_by_role("radio", name="From today").check()
        expect(page.get_by_label("Plan name")).to_have_value(PLAN)
        page.get_by_label("Plan name").fill("Board action plan 2017")  # named on the preview
        page.get_by_role("button", name="Confirm and import the ticked documents").click()
        expect(page.get_by_role("status")).to_contain_text("1 document imported")
        looked_at(page, f"{name}-03-imported")
    found = stages(app)
    assert len(found) == 3
    assert max(found) == 0
    with app.sessions() as session:
        assert list(session.scalars(select(Plan.title))) == ["Board action plan 2017"]
