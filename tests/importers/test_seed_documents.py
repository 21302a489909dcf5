"""The partnership's own documents import exactly as a person reading them would expect."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import seed
from tests.support.helpers import by_key, records, run_import
from worker.app import App
from worker.models import Recommendation

PLAN = "Serious Case Review Composite Action Plan January 2017"
THEMES = {
    "1": "Professional curiosity",
    "2": "Fora for discussion and information-sharing",
    "3": "Collaborative working, decision-making and planning",
    "4": "Ownership and accountability: management grip",
}


def test_cap_002_actions(app: App) -> None:
    [result] = run_import(app, seed("002"))
    assert result.error is None
    assert result.kind == "Composite Action Plan"
    actions = records(app, "actions")
    refs = [a["ref"] for a in actions]
    expected = [f"1.{i}" for i in range(1, 5)] + [f"2.{i}" for i in range(1, 5)]
    expected += [f"3.{i}" for i in range(1, 4)] + [f"4.{i}" for i in range(1, 12)]
    assert refs == expected
    assert {a["plan"] for a in actions} == {PLAN}
    assert all(a["theme"] == THEMES[a["ref"].split(".")[0]] for a in actions)


def test_cap_002_fields(app: App) -> None:
    run_import(app, seed("002"))
    actions = by_key(records(app, "actions"), "ref")
    assert actions["4.6"]["action"].endswith(
        "in respect of safeguarding children and put in place mechanisms to ensure this "
        "is used effectively and routinely."
    )
    assert actions["4.2"]["target_date"] is None
    assert actions["4.2"]["status"] == "open"
    assert actions["2.4"]["status"] == "complete"
    assert actions["2.3"]["target_date"] == "2017-12-01"
    assert actions["2.1"]["target_date"] == "2019-01-01"
    assert actions["1.1"]["target_date"] == "2017-06-01"
    assert actions["1.4"]["scr_refs"] == ["K", "O", "P", "Q", "R"]
    assert actions["4.1"]["scr_refs"] == ["M", "All"]
    assert actions["2.2"]["lead_agencies"] == ["Health", "NSCB"]
    assert actions["1.4"]["lead_agencies"] == ["DASVB partners"]
    assert not any(a["unassigned"] for a in actions.values())
    assert sum(a["status"] == "complete" for a in actions.values()) == 1


def test_mi_sheet_000(app: App) -> None:
    [result] = run_import(app, seed("000"))
    assert result.error is None
    sheet = by_key(records(app, "mi-sheets"), "number")["3/17"]
    assert sheet["type"] == "Action"
    assert sheet["due"] == "2017-03-14"
    assert sheet["published"] == "2017-01-06T12:00:00+00:00"
    assert sheet["contact"] == {
        "name": "Daniel Halls",
        "phone": "01603 729198",
        "email": "daniel.halls@norfolk.gov.uk",
    }
    assert sheet["audience"] == "A Senior Member of staff"
    assert sheet["delegate_limit"] == 1
    assert sheet["title"] == "NSCB Serious Case Review - Case Q Operation Encompass"


def test_sessions_000(app: App) -> None:
    run_import(app, seed("000"))
    got = [
        (s["reference"], s["start"], s["end"], s["venue"], s["delegate_limit"], s["mi_sheet"])
        for s in records(app, "sessions")
    ]
    norwich, west = (
        "Norwich Professional Development Centre",
        "West Norfolk Professional Development Centre",
    )
    assert got == [
        ("TLS-0217-T035", "2017-02-20T10:00:00+00:00", "2017-02-20T11:30:00+00:00", norwich, 1, "3/17"),
        ("TLS-0217-T036", "2017-02-27T10:00:00+00:00", "2017-02-27T11:30:00+00:00", norwich, 1, "3/17"),
        ("TLS-0317-T052", "2017-03-14T10:00:00+00:00", "2017-03-14T11:30:00+00:00", west, 1, "3/17"),
        ("TLS-0317-T053", "2017-03-14T12:00:00+00:00", "2017-03-14T13:30:00+00:00", west, 1, "3/17"),
    ]  # fmt: skip


def test_mi_sheet_003(app: App) -> None:
    run_import(app, seed("003"))
    sheet = by_key(records(app, "mi-sheets"), "number")["71/16"]
    assert (sheet["type"], sheet["due"]) == ("CPD", "2016-05-06")
    assert sheet["published"] == "2016-04-22T12:00:00+01:00"
    assert sheet["contact"]["name"] == "Kelly Waters"
    assert sheet["contact"]["phone"] == "01603 307729"
    assert sheet["audience"] == "All Staff"
    assert sheet["links"] == ["http://www.educatorsolutions.org.uk"]
    assert sheet["delegate_limit"] == 2


def test_sessions_003(app: App) -> None:
    run_import(app, seed("003"))
    got = [(s["reference"], s["start"], s["end"], s["venue"]) for s in records(app, "sessions")]
    assert got == [
        ("TLS-0516-T045", "2016-05-13T09:30:00+01:00", "2016-05-13T11:30:00+01:00", "Norwich PDC"),
        ("TLS-0516-T048", "2016-05-23T10:00:00+01:00", "2016-05-23T12:00:00+01:00", "West Norfolk PDC"),
        ("TLS-0516-T046", "2016-05-24T14:00:00+01:00", "2016-05-24T16:00:00+01:00", "Norwich PDC"),
        ("TLS-0516-T053", "2016-05-25T14:00:00+01:00", "2016-05-25T16:00:00+01:00", "Norwich PDC"),
    ]  # fmt: skip
    assert {s["delegate_limit"] for s in records(app, "sessions")} == {2}


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("001", "no MI Number"),
    ],
)
def test_refused_documents_do_not_stop_the_others(app: App, prefix: str, reason: str) -> None:
    results = run_import(app, seed("000"), seed(prefix), seed("002"))
    assert [r.error is None for r in results] == [True, False, True]
    message = str(results[1].error)
    assert str(seed(prefix)) in message
    assert reason in message
    assert len(records(app, "actions")) == 22
    assert len(records(app, "sessions")) == 4


def test_reimporting_every_seed_twice_leaves_the_same_rows(app: App) -> None:
    documents = [seed(p) for p in ("000", "001", "002", "003", "004")]
    run_import(app, *documents)
    first = {what: records(app, what) for what in ("actions", "mi-sheets", "sessions")}
    second_results = run_import(app, *documents)
    assert all(o.created == o.updated == o.retired == 0 for r in second_results for o in r.outcomes)
    assert {what: records(app, what) for what in first} == first


def test_the_learning_briefing_imports_as_the_reviews_recommendations(app: App) -> None:
    [result] = run_import(app, seed("004"))
    assert result.error is None, result.error
    assert result.kind == "learning briefing"
    [outcome] = result.outcomes
    assert (outcome.subject, outcome.created) == ("learning briefing of 'Case A1'", 5)
    with app.sessions() as session:
        found = session.scalars(select(Recommendation).order_by(Recommendation.number)).all()
        assert [(r.review, r.number) for r in found] == [("Case A1", n) for n in range(1, 6)]
        assert found[0].text.startswith("NSCP as part of a workforce development plan")
        assert found[0].text.endswith("in order to communicate effectively.")
        assert found[4].text.startswith("The NSCP should oversee the development of guidance")
        assert "NSCP's Response" not in found[4].text
