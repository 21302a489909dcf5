"""The mapping step on the imports page: a plan whose headings nobody named shows its table,
the business manager says which column holds what, the preview reads it so, and the map is
saved with the import under the table's heading row, so that the next revision imports
without asking, on the console and the command line."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import select

from tests.console.test_console_imports import PAGE, confirm, upload
from tests.importers.test_other_plans import ACTION_LOG, as_text
from tests.support.console import MANAGER, csrf, sign_in
from tests.support.helpers import records
from tests.support.web import serving
from worker.app import App
from worker.cli import main
from worker.models import Action, SavedColumnMap

LOG = as_text  # the board's action log: no references, no target dates, its own headings
CHOSEN = {"table": "0", "column-text": "1", "column-lead_agency": "2", "column-progress": "3",
          "column-ref": "none", "column-target_date": "none"}  # fmt: skip


def log_bytes(tmp_path: Path, extra: list[str] | None = None) -> bytes:
    lines = ACTION_LOG + ([extra] if extra else [])
    return LOG(tmp_path / "log", lines).read_bytes()


def choose(client: httpx.Client, preview: httpx.Response, **changed: str) -> httpx.Response:
    """The columns chosen on the preview's form for the document's first table."""
    [document] = re.findall(r'name="document" value="([^"]+)">', preview.text)[:1]
    fields = {"csrftoken": csrf(preview), "plan": "", "document": html.unescape(document)}
    return client.post(f"{PAGE}/columns", data=fields | CHOSEN | changed)


def refs(app: App) -> dict[str, Action]:
    with app.sessions() as session:
        return {a.ref: a for a in session.scalars(select(Action))}


def test_a_plan_nobody_named_is_mapped_previewed_imported_and_remembered(
    app: App, tmp_path: Path
) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("log.txt", log_bytes(tmp_path)))
        text = html.unescape(preview.text)
        assert "log.txt: refused" in text
        assert "Say which column holds what" in text
        assert '<th scope="col">Date of Meeting</th>' in text  # the table, to choose in
        assert "<td>Circulate the neglect toolkit</td>" in text
        assert 'name="document"' not in text.split('id="confirm"')[1].split("<section")[0]
        mapped = choose(client, preview)
        assert mapped.status_code == 200, mapped.text
        text = html.unescape(mapped.text)
        assert "log.txt: Composite Action Plan" in text
        assert "<td><strong>New</strong> action</td><td>Board action log 2027 1</td>" in text
        assert "Read with the columns you chose" in text
        assert refs(app) == {}  # previews store nothing, the map neither
        with app.sessions() as session:
            assert session.scalar(select(SavedColumnMap.id)) is None
        assert confirm(client, mapped).status_code == 303
        imported = refs(app)
        assert sorted(imported) == ["1", "2"]
        assert (imported["1"].text, imported["1"].target_date) == (
            "Circulate the neglect toolkit", None)  # fmt: skip
        assert imported["1"].progress == "Sent to GPs"

        revised = upload(client, ("log-v2.txt", log_bytes(tmp_path, [
            "02/02/2027", "Audit the referrals", "Police", ""])))  # fmt: skip
        text = html.unescape(revised.text)
        assert "log-v2.txt: Composite Action Plan, columns as saved" in text
        assert "Say which column holds what" not in text
        assert confirm(client, revised).status_code == 303
    assert sorted(refs(app)) == ["1", "2", "3"]
    with app.sessions() as session:
        [saved] = session.scalars(select(SavedColumnMap))
        assert (saved.saved_by, saved.headings) == (
            MANAGER, "Date of Meeting\tAction Point\tLead\tProgress Update")  # fmt: skip


def test_the_command_line_reads_a_plan_with_the_map_saved_on_the_console(
    app: App, tmp_path: Path
) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        mapped = choose(client, upload(client, ("log.txt", log_bytes(tmp_path))))
        assert confirm(client, mapped).status_code == 303
    revised = LOG(tmp_path / "revised", [*ACTION_LOG, ["", "Brief the GPs", "Health", "Done"]])
    result = CliRunner().invoke(main, ["import", str(revised)])
    assert result.exit_code == 0, result.output
    assert "columns as saved" in result.output
    actions = {a["ref"]: a for a in records(app, "actions")}
    assert actions["3"]["action"] == "Brief the GPs"


def test_columns_that_cannot_be_read_are_named_and_nothing_is_stored(
    app: App, tmp_path: Path
) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("log.txt", log_bytes(tmp_path)))
        twice = choose(client, preview, **{"column-lead_agency": "1"})
        text = html.unescape(twice.text)
        assert "These columns cannot be read: Action (text) and Lead agency (lead_agency) are " \
               "both the column 'Action Point'." in text  # fmt: skip
        assert 'form="confirm"' not in text  # nothing to import
        missing = html.unescape(choose(client, preview, **{"column-text": ""}).text)
        assert "Action: choose the column that holds it." in missing
        picks = {"column-target_date": "3", "column-progress": ""}  # the progress column
        wrong = html.unescape(choose(client, preview, **picks).text)
        assert "log.txt: refused" in wrong  # read with them, and refused with its reason
        assert "<dt>Field</dt><dd>Target date</dd>" in wrong
        assert "<dt>Value</dt><dd><code>Sent to GPs</code></dd>" in wrong
        chosen = wrong.split('id="column-1-0-target_date"')[1].split("</select>")[0]
        assert '<option value="3" selected>Progress Update</option>' in chosen  # kept
        assert 'form="confirm"' not in wrong
    assert refs(app) == {}
    with app.sessions() as session:
        assert session.scalar(select(SavedColumnMap.id)) is None


def test_a_map_is_read_only_under_its_own_heading_row(app: App, tmp_path: Path) -> None:
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        assert confirm(client, choose(client, upload(client, (
            "log.txt", log_bytes(tmp_path))))).status_code == 303  # fmt: skip
        other = [ACTION_LOG[0], ["Date of Meeting", "Action Point", "Lead", "Notes"],
                 ["12/01/2027", "Circulate the toolkit", "Health", "Sent"]]  # fmt: skip
        preview = upload(client, ("other.txt", LOG(tmp_path / "other", other).read_bytes()))
        assert "Say which column holds what" in html.unescape(preview.text)
