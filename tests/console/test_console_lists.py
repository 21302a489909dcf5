"""The console's lists as a reader meets them: where an overview list's rest is found, what
each row's status says, and what each person is told they can do."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.console.test_console_rules import dmy
from tests.support.console import (
    CHAIR,
    MANAGER,
    NURSE,
    RIVERSIDE,
    daily_run,
    partnership,
    post,
    sign_in,
)
from tests.support.helpers import run_import
from tests.support.web import serving
from worker.app import App
from worker.console.items import OVERDUE, STATUSES, Filters, lines, status_of_item
from worker.console.overview import SHORT_LIST, weekly_overdue
from worker.models import Obligation
from worker.obligations import Assessor
from worker.templating import long_date

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


def status_cell(page: httpx.Response, item: int) -> str:
    """The words of the Status cell of `item`'s row in the page's first list showing it."""
    row = re.search(rf'<a href="/console/items/{item}">.*?</tr>', page.text, re.S)
    assert row, f"item {item} is not listed on {page.url}"
    cell = re.search(r'<td data-label="Status">(.*?)</td>', row.group(0), re.S)
    assert cell
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split())


def test_an_acknowledged_item_says_so_in_every_list(app: App) -> None:
    partnership(app)
    with app.sessions() as session:  # the overview's first two overdue items (stage 4)
        first, _ = lines(session, None, Filters(status=OVERDUE), SHORT_LIST)
        acknowledged, ignored = first[0].id, first[1].id
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = f"/console/items/{acknowledged}"
        done = post(client, f"{page}/acknowledge", page, note="Audit booked.")
        assert done.status_code == 303, done.text[-500:]
        with app.sessions() as session:
            row = session.get(Obligation, acknowledged)
            assert row is not None
            until = Assessor.build(session, app.rules(), app.today()).decide(row).paused_until
        assert until is not None
        said = f"Acknowledged Overdue, escalation paused until {long_date(until)}"
        mine = client.get("/console/mine")
        assert 'class="govuk-tag govuk-tag--purple">Acknowledged</strong>' in mine.text
        for shown in (mine, client.get("/console/items?status=overdue"), client.get("/console/")):
            assert status_cell(shown, acknowledged) == said
            assert status_cell(shown, ignored) == "Overdue"


def test_my_items_say_what_each_person_can_do(app: App) -> None:
    partnership(app)
    told = {
        RIVERSIDE: "Open one to add a progress note or mark it complete.",  # a school's DSL
        NURSE: "Open one to acknowledge it, add a progress note or mark it complete.",
        CHAIR: "Open one to read its record: as chair you can see, not change, them.",
        MANAGER: "Open one to acknowledge it, add a progress note, mark it complete, or change "
        "its target date or lead agency.",
    }
    with serving(app) as client:
        for who, said in told.items():
            client.cookies.clear()
            sign_in(client, app, who)
            words = text(client.get("/console/mine"))
            assert said in words, who
            if who in (RIVERSIDE, CHAIR):
                assert "acknowledge" not in words.split("Your digests")[0], who


def test_past_weeks_count_the_items_overdue_then(app: App, tmp_path: Path) -> None:
    today = app.today()
    late = {"5.1": today - timedelta(weeks=10), "5.2": today - timedelta(days=16)}
    plan(app, tmp_path, [*((ref, "Health", day) for ref, day in late.items()),
                         ("5.3", "Health", today + timedelta(weeks=3))])  # fmt: skip
    with app.sessions() as session:
        weekly = dict(weekly_overdue(session, today))
    assert weekly[today] == 2  # both past their target and at stage 1 or above today
    for end, n in weekly.items():
        if end < today:  # before the service first recorded them: from their target dates
            assert n == sum(target < end for target in late.values()), end
    assert weekly[today - timedelta(weeks=1)] == 2
    assert weekly[today - timedelta(weeks=3)] == 1
    assert weekly[today - timedelta(weeks=11)] == 0


def test_an_item_without_a_target_date_says_so_and_is_filtered_as_such(
    app: App, tmp_path: Path
) -> None:
    later = app.today() + timedelta(weeks=10)
    plan(app, tmp_path, [("6.1", "Health", "TBC"), ("6.2", "Health", later),
                         ("6.3", "Health", "TBC")])  # fmt: skip
    with app.sessions() as session:
        ids = {row.action.ref: row.id for row in session.scalars(select(Obligation)) if row.action}
        # The daily run keeps a "TBC" action's progress under review: it is not yet due.
        assert {session.get_one(Obligation, i).stage for i in ids.values()} == {-1}
    tbc, dated, retargeted = ids["6.1"], ids["6.2"], ids["6.3"]
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = f"/console/items/{retargeted}"
        done = post(client, f"{page}/retarget", page, target=later.isoformat(), note="Agreed.")
        assert done.status_code == 303, done.text[-500:]
        every = client.get("/console/items")
        assert status_cell(every, tbc) == "No target date"
        assert status_cell(every, dated) == "On track"
        assert status_cell(every, retargeted) == "On track"  # a date was set: on track again
        row = re.search(rf'<a href="/console/items/{tbc}">.*?</tr>', every.text, re.S)
        assert row
        assert '<td data-label="Target date">not set yet;' in row.group(0)
        # The filter offers the status and finds exactly the items the lists say have it.
        assert '<option value="no target date">No target date</option>' in every.text
        none_set = client.get("/console/items?status=no+target+date")
        assert set(re.findall(r'<a href="/console/items/(\d+)">', none_set.text)) == {str(tbc)}
        assert "1 item." in text(none_set)
        on_track = client.get("/console/items?status=on+track")
        listed = set(re.findall(r'<a href="/console/items/(\d+)">', on_track.text))
        assert listed == {str(dated), str(retargeted)}
        csv = client.get("/console/items.csv?status=no+target+date").text.strip().splitlines()
        assert len(csv) == 2
        assert csv[1].endswith(",no target date")
        # The item's own page agrees with the lists.
        item = text(client.get(f"/console/items/{tbc}"))
        assert "Status No target date" in item
        assert "Target date not set yet" in item
        assert "On track" not in item
        assert "Status On track" in text(client.get(f"/console/items/{dated}"))
        # The overview's figures count it under its own status.
        overview = client.get("/console/")
        assert ">No target date</th>" in overview.text
    with app.sessions() as session:
        for status in STATUSES:
            found, _ = lines(session, None, Filters(status=status), None)
            for shown in found:
                assert status_of_item(session.get_one(Obligation, shown.id)) == status
