"""Cover: someone away, a delegate receiving their digests and acting for them between dates."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import ROOT
from tests.support.console import MANAGER, NURSE, partnership, post, sign_in
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.console.people import person_of
from worker.delivery.tick import plan_once
from worker.directory.entries import directory_from
from worker.directory.recipients import Person, Recipient
from worker.mail.digest import Inbox, Item, covered
from worker.models import Delivery, ObligationEvent
from worker.yaml_files import ConfigError, parse_yaml

DEPUTY = "deputy.nurse@example.org"
WHO = ["--by", MANAGER, "--reason", "annual leave"]
SHIPPED = (ROOT / "config" / "directory.yaml").read_text(encoding="utf-8")


def with_cover(starts: str, ends: str, person: str = NURSE) -> str:
    return SHIPPED + (f"\ncover:\n  - person: {person}\n    delegate: {{name: Dee Puty, "
                      f"email: {DEPUTY}}}\n    from: {starts}\n    to: {ends}\n")  # fmt: skip


def item(key: str, why: str) -> Item:
    return Item(key=key, ref=key, source="P", text="t", theme="th", owner="Health",
                target_date=None, stage=2, stage_name="Line manager",
                working_days_overdue=3, progress="", why=why)  # fmt: skip


def test_an_inbox_of_someone_away_goes_to_their_delegate() -> None:
    nurse = Recipient("Designated Nurse", NURSE, "named_contact", "named contact for Health")
    deputy = Recipient("Dee Puty", DEPUTY, "named_contact", "named contact for MASH")
    inboxes = {NURSE: Inbox(nurse, [item("4.1", "named contact for Health")]),
               DEPUTY: Inbox(deputy, [item("9.9", "named contact for MASH")])}  # fmt: skip
    found = covered(inboxes, {NURSE: Person("Dee Puty", DEPUTY)})
    assert list(found) == [DEPUTY]
    assert found[DEPUTY].recipient == deputy  # their own inbox, with the nurse's items added
    assert sorted((i.key, i.why) for i in found[DEPUTY].items) == [
        ("4.1", f"covering for Designated Nurse ({NURSE}): named contact for Health"),
        ("9.9", "named contact for MASH"),
    ]  # the digest orders them, worst first
    assert covered(inboxes, {}) == inboxes


def test_cover_is_checked_with_the_directory() -> None:
    where = ROOT / "directory.yaml"
    wrong = with_cover("2026-12-10", "2026-12-01", person="nobody@example.org")
    with pytest.raises(ConfigError) as refused:
        directory_from(where, parse_yaml(wrong, where))
    assert "cover[0].person: nobody@example.org is not in the directory" in str(refused.value)
    assert "cover[0].to: 2026-12-01 is before its from date" in str(refused.value)


def test_the_delegate_acts_for_the_person_away_only_between_the_dates() -> None:
    where = ROOT / "directory.yaml"
    directory = directory_from(where, parse_yaml(with_cover("2026-12-01", "2026-12-11"), where))
    assert person_of(directory, DEPUTY, date(2026, 11, 30)) is None
    during = person_of(directory, DEPUTY, date(2026, 12, 11))
    assert during is not None
    assert during.agencies == frozenset({"Health"})
    assert during.roles == ("covering for Designated Nurse until 2026-12-11",)
    assert person_of(directory, DEPUTY, date(2026, 12, 12)) is None


def test_digests_go_to_the_delegate_while_the_cover_lasts(app: App) -> None:
    partnership(app)
    today = app.today()
    code = CliRunner().invoke(main, ["directory", "cover", NURSE, DEPUTY, "--name", "Dee Puty",
                                     "--from", today.isoformat(), "--to",
                                     (today + timedelta(days=7)).isoformat(), *WHO])  # fmt: skip
    assert code.exit_code == 0, code.output
    plan_once(app, app.rules(), today, app.partnership_label())
    with app.sessions() as session:
        to = {d.recipient: d for d in session.scalars(select(Delivery))}
    assert NURSE not in to
    items = to[DEPUTY].payload["items"]
    assert items
    assert all(i["why"].startswith(f"covering for Designated Nurse ({NURSE})") for i in items)
    assert "health.safeguarding@example.org" in to  # the line manager is told as ever


def test_cover_set_in_the_console_and_acted_on_by_the_delegate(app: App) -> None:
    partnership(app)
    today = app.today()
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        done = post(client, "/console/directory/cover", "/console/directory", away=NURSE,
                    delegate=DEPUTY, delegate_name="Dee Puty", reason="annual leave",
                    **{"from": today.isoformat(), "to": (today + timedelta(days=3)).isoformat()})  # fmt: skip
        assert done.status_code == 303
        assert "covers for" in client.get(done.headers["location"]).text
        client.cookies.clear()
        sign_in(client, app, DEPUTY)
        mine = client.get("/console/mine").text
        first = re.search(r'href="/console/items/(\d+)"', mine)
        assert first, "the delegate sees none of the nurse's items"
        page = f"/console/items/{first.group(1)}"
        noted = post(client, f"{page}/note", page, note="Covering: chased the audit.")
        assert noted.status_code == 303
    with app.sessions() as session:
        event = session.scalar(select(ObligationEvent).order_by(ObligationEvent.id.desc()))
        assert event is not None
        assert event.by == f"{DEPUTY} for {NURSE}"


def test_a_delegate_told_in_their_own_right_hears_of_an_item_once() -> None:
    """The line manager covering for their named contact: the item is theirs already."""
    nurse = Recipient("Designated Nurse", NURSE, "named_contact", "named contact for Health")
    manager = Recipient("Head", "head@example.org", "line_manager", "line manager of the nurse")
    inboxes = {NURSE: Inbox(nurse, [item("4.1", "named contact for Health")]),
               "head@example.org": Inbox(manager, [item("4.1", "copied as line manager")])}  # fmt: skip
    for order in (inboxes, dict(reversed(list(inboxes.items())))):
        found = covered(order, {NURSE: Person("Head", "Head@Example.org")})
        assert list(found) == ["head@example.org"]  # one inbox, whatever the address's case
        assert [(i.key, i.why) for i in found["head@example.org"].items] == [
            ("4.1", "copied as line manager")
        ]


def test_cover_ends_when_the_person_leaves_and_follows_a_corrected_address(app: App) -> None:
    runner = CliRunner()
    covering = ["directory", "cover", NURSE, DEPUTY, "--name", "Dee Puty", "--from",
                "2026-12-01", "--to", "2026-12-11", *WHO]  # fmt: skip
    assert runner.invoke(main, covering).exit_code == 0
    corrected = runner.invoke(main, ["directory", "correct", NURSE, "nurse@health.example.org",
                                     *WHO])  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    assert [c.person for c in app.directory().cover] == ["nurse@health.example.org"]
    left = runner.invoke(main, ["directory", "replace", "nurse@health.example.org",
                                "new.nurse@example.org", "--name", "New Nurse", *WHO])  # fmt: skip
    assert left.exit_code == 0, left.output
    assert app.directory().cover == []  # the successor is not away
