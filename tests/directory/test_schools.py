"""Schools in bulk from a GIAS extract: previewed, then applied exactly; a school renamed stays
the same establishment, a school closed ends its MI obligations saying so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import seed
from tests.support.helpers import run_import
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY, history
from worker.db import transaction
from worker.models import Establishment, Obligation
from worker.obligations import sync_obligations

HEADER = ("URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,"
          "TypeOfEstablishment (name),EstablishmentStatus (name),CloseDate,"
          "PhaseOfEducation (name),Postcode,DSL name,DSL email\n")  # fmt: skip
WHO = ["--by", "business.manager@example.org", "--reason", "the county's schools from GIAS"]


def gias(tmp_path: Path, rows: list[str], name: str = "gias.csv") -> Path:
    """A GIAS extract as the DfE writes it: Windows-1252, with the DSL columns added."""
    path = tmp_path / name
    path.write_bytes((HEADER + "".join(rows)).encode("cp1252"))
    return path


OPEN = [
    "121001,926,Norfolk,2001,Hillside Primary School,Community school,Open,,Primary,NR1 1AA,"
    "Ann Able,dsl@hillside.example.org\n",
    "121002,926,Norfolk,2002,St Thérèse Catholic Primary,Voluntary aided school,Open,,Primary,"
    "NR2 2BB,Ben Bold,dsl@st-therese.example.org\n",
    "121003,926,Norfolk,4001,Marsh Lane High School,Academy converter,Open,,Secondary,NR3 3CC,"
    "Cat Calm,dsl@marsh-lane.example.org\n",
]


def schools(*arguments: str) -> str:
    result = CliRunner().invoke(main, ["directory", "schools", *arguments])
    assert result.exit_code == 0, result.output
    return result.output


def sync(app: App) -> None:
    app.sync_directory()
    with transaction(app.sessions) as session:
        sync_obligations(session, app.rules(), app.timezone, app.today())


def test_a_gias_extract_previewed_applied_then_one_renamed_and_one_closed(
    app: App, tmp_path: Path
) -> None:
    first = gias(tmp_path, OPEN)
    preview = schools(str(first))
    assert "3 added, 0 renamed, 0 changed, 0 closed, 0 reopened, 0 unchanged" in preview
    assert "added: St Thérèse Catholic Primary (URN 121002), DSL Ben Bold" in preview
    with app.sessions() as session:
        assert [v.number for v in history(session, DIRECTORY)] == [1]  # a preview saves nothing
    assert "Saved directory version 2" in schools(str(first), "--apply", *WHO)
    places = {e.urn: e for e in app.directory().establishments if e.urn}
    assert places["121002"].name == "St Thérèse Catholic Primary"
    assert (places["121003"].email, places["121003"].groups) == (
        "dsl@marsh-lane.example.org", ["schools"]
    )  # fmt: skip
    run_import(app, seed("000"))  # an MI sheet for every school
    sync(app)
    with app.sessions() as session:
        marsh = session.scalar(select(Establishment).where(Establishment.urn == "121003"))
        assert marsh is not None
        marsh_items = set(session.scalars(select(Obligation.key).where(
            Obligation.establishment_id == marsh.id)))  # fmt: skip
        assert marsh_items

    renamed = OPEN[2].replace("Marsh Lane High School", "Marsh Lane Academy")
    closed = OPEN[0].replace(",Open,,", ",Closed,31-10-2026,")
    second = gias(tmp_path, [closed, OPEN[1], renamed], "gias-2.csv")
    preview = schools(str(second))
    assert preview.splitlines() == [
        "renamed: Marsh Lane High School -> Marsh Lane Academy (URN 121003)",
        "closed: Hillside Primary School: closed on 2026-10-31 (GIAS)",
        "0 added, 1 renamed, 0 changed, 1 closed, 0 reopened, 1 unchanged",
    ]
    assert "Saved directory version 3" in schools(str(second), "--apply", *WHO)
    sync(app)
    with app.sessions() as session:
        marsh = session.scalar(select(Establishment).where(Establishment.urn == "121003"))
        assert marsh is not None
        assert marsh.name == "Marsh Lane Academy"
        kept = set(session.scalars(select(Obligation.key).where(
            Obligation.establishment_id == marsh.id, Obligation.resolved_on.is_(None))))  # fmt: skip
        assert kept == marsh_items  # the same establishment, its items open as before
        hillside = session.scalar(select(Establishment).where(Establishment.urn == "121001"))
        assert hillside is not None
        assert hillside.closed_on is not None
        assert hillside.groups == []
        [ended] = session.scalars(select(Obligation).where(
            Obligation.establishment_id == hillside.id))  # fmt: skip
        last = ended.events[-1]
        assert (last.kind, last.note) == (
            "completed",
            "Hillside Primary School closed on 2026-10-31",
        )


def test_a_list_with_a_school_lacking_its_dsl_changes_nothing(app: App, tmp_path: Path) -> None:
    broken = gias(tmp_path, [OPEN[0], OPEN[1].replace(",Ben Bold,dsl@st-therese.example.org", ",,"),
                             "12x004,926,Norfolk,2004,Nowhere School,,Open,,,,,\n"])  # fmt: skip
    result = CliRunner().invoke(main, ["directory", "schools", str(broken), "--apply", *WHO])
    assert result.exit_code == 1
    assert "line 3: DSL email: none for St Thérèse Catholic Primary (URN 121002)" in result.output
    assert "line 4: URN: expected the school's 5 to 7 digit number, got '12x004'" in result.output
    assert "nothing changed" in result.output
    with app.sessions() as session:
        assert [v.number for v in history(session, DIRECTORY)] == [1]


def test_the_schools_in_a_second_file_keyed_by_urn(app: App, tmp_path: Path) -> None:
    bare = [row.rsplit(",", 2)[0] + ",,\n" for row in OPEN[:1]]
    dsl = tmp_path / "dsl.csv"
    dsl.write_text("URN,DSL name,DSL email,Groups\n121001,Ann Able,dsl@hillside.example.org,"
                   "schools\n", encoding="utf-8")  # fmt: skip
    preview = schools(str(gias(tmp_path, bare)), "--dsl", str(dsl))
    assert "added: Hillside Primary School (URN 121001), DSL Ann Able <dsl@hillside" in preview


def test_an_academy_converting_under_its_old_name_is_a_new_school(app: App, tmp_path: Path) -> None:
    """GIAS closes the old URN and opens a new one under the same name: the entry of the old
    URN closes (renamed, so that both keep a name of their own), the new one is added."""
    schools(str(gias(tmp_path, OPEN)), "--apply", *WHO)
    closed = OPEN[2].replace(",Open,,", ",Closed,31-08-2026,")
    converted = OPEN[2].replace("121003", "149003").replace("Academy converter", "Academy")
    preview = schools(str(gias(tmp_path, [*OPEN[:2], closed, converted], "gias-2.csv")))
    assert preview.splitlines() == [
        "added: Marsh Lane High School (URN 149003), DSL Cat Calm <dsl@marsh-lane.example.org>, "
        "groups schools",
        "renamed: Marsh Lane High School -> Marsh Lane High School (closed 2026-08-31) "
        "(URN 121003)",
        "closed: Marsh Lane High School: closed on 2026-08-31 (GIAS)",
        "1 added, 1 renamed, 0 changed, 1 closed, 0 reopened, 2 unchanged",
    ]
    schools(str(gias(tmp_path, [*OPEN[:2], closed, converted], "gias-2.csv")), "--apply", *WHO)
    places = {e.urn: e for e in app.directory().establishments if e.urn}
    assert (places["121003"].name, places["121003"].closed) == (
        "Marsh Lane High School (closed 2026-08-31)", date(2026, 8, 31)
    )  # fmt: skip
    assert (places["149003"].name, places["149003"].closed) == ("Marsh Lane High School", None)
    sync(app)
    with app.sessions() as session:
        rows = {e.urn: e for e in session.scalars(select(Establishment))}
        assert rows["121003"].name == "Marsh Lane High School (closed 2026-08-31)"
        assert rows["121003"].groups == []
        assert rows["149003"].name == "Marsh Lane High School"
        assert [g.name for g in rows["149003"].groups] == ["schools"]


def test_a_school_missing_from_one_list_and_back_in_the_next_is_reopened(
    app: App, tmp_path: Path
) -> None:
    schools(str(gias(tmp_path, OPEN)), "--apply", *WHO)
    short = gias(tmp_path, OPEN[:2], "short.csv")
    assert "closed: Marsh Lane High School: missing from the list of" in schools(str(short))
    schools(str(short), "--apply", *WHO)
    again = schools(str(gias(tmp_path, OPEN, "whole.csv")))
    assert "reopened: Marsh Lane High School: open in the list again" in again
    schools(str(gias(tmp_path, OPEN, "whole.csv")), "--apply", *WHO)
    places = {e.urn: e for e in app.directory().establishments if e.urn}
    assert places["121003"].closed is None
