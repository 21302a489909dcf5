"""The console's lists as a reader meets them: where an overview list's rest is found, what
each row's status says, and what each person is told they can do."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import httpx

from tests.console.test_console_rules import dmy
from tests.support.console import MANAGER, daily_run, sign_in
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App

HEADER = "plan,ref,theme,scr_refs,action,lead_agency,target_date,progress\n"


def plan(app: App, tmp_path: Path, rows: list[tuple[str, str, date | str]]) -> None:
    """A plan of (ref, lead, target date or "TBC") rows, imported and assessed."""
    lines = "".join(
        f"Lists plan,{ref},Professional curiosity,A,Action {ref},{lead},"
        f"{dmy(target) if isinstance(target, date) else target},\n"
        for ref, lead, target in rows
    )
    path = tmp_path / "plan.csv"
    path.write_text(HEADER + lines, encoding="utf-8")
    [result] = run_import(app, path)
    assert result.error is None, result.error
    daily_run(app)


def text(page: httpx.Response) -> str:
    """The page's words, without its markup."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_the_overview_leads_to_every_unassigned_item(app: App, tmp_path: Path) -> None:
    late = app.rules().calendar().add(app.today(), -3)
    unknown = [(f"1.{n}", "Housing Trust", late) for n in range(1, 13)]
    plan(app, tmp_path, [*unknown, ("2.1", "Health", late)])
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        shown = client.get("/console/")
        assert "Unassigned: no agency in the directory answers to the lead (12)" in text(shown)
        found = re.search(r'<a href="([^"]+)">See all 12 unassigned items</a>', shown.text)
        assert found, "no way from the overview to the rest of the unassigned items"
        listed = client.get(html.unescape(found.group(1)))
        assert listed.status_code == 200
        assert "12 items." in text(listed)
        refs = set(re.findall(r'<a href="/console/items/\d+">([^<]+)</a>', listed.text))
        assert refs == {ref for ref, _, _ in unknown}
        # The filter is offered on the Items page, and chosen there when it is in force.
        assert '<option value="(unassigned)" selected>None: unassigned</option>' in listed.text
        every = client.get("/console/items")
        assert '<option value="(unassigned)">None: unassigned</option>' in every.text
        assert "13 items." in text(every)
        csv = client.get("/console/items.csv?agency=%28unassigned%29")
        assert len(csv.text.strip().splitlines()) == 1 + 12
