"""A plan the service reads by its own headings but whose columns it leaves unread: each is
named on the preview, the table is offered in the mapping step, and a column chosen there is
read on Confirm and in the plan's next revision."""

from __future__ import annotations

import html
from pathlib import Path

from sqlalchemy import select

from tests.console.test_console_column_maps import choose
from tests.console.test_console_imports import confirm, upload
from tests.importers.test_achieved_rows import PREVIEWED
from tests.importers.test_other_plans import as_text
from tests.support.console import MANAGER, sign_in
from tests.support.web import serving
from worker.app import App
from worker.models import Action

# Ref, Recommendation, Action, Lead, Target date, Update, Progress presented to Committee,
# Assessment of progress (1-4): the committee's column for Progress instead of the Update.
PICKS = {"column-ref": "0", "column-text": "2", "column-lead_agency": "3",
         "column-target_date": "4", "column-progress": "6", "column-rag": "7"}  # fmt: skip


def test_a_column_left_unread_is_named_and_can_be_chosen(app: App, tmp_path: Path) -> None:
    first = as_text(tmp_path / "tracker", PREVIEWED).read_bytes()
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        preview = upload(client, ("tracker.txt", first))
        text = html.unescape(preview.text)
        assert "tracker.txt: Composite Action Plan" in text
        assert "<li>not read: Recommendation</li>" in text
        assert "<li>not read: Progress presented to Committee</li>" in text
        assert 'href="#columns-1">Say which column holds what</a>' in text
        assert '<th scope="col">Progress presented to Committee</th>' in text  # to choose
        mapped = html.unescape(choose(client, preview, **PICKS).text)
        assert "Progress: <ins>Presented 12/10/2026</ins>" in mapped
        assert "<li>not read: Update</li>" in mapped
        assert confirm(client, choose(client, preview, **PICKS)).status_code == 303
        with app.sessions() as session:
            assert session.scalar(select(Action.progress)) == "Presented 12/10/2026"

        revised = [*PREVIEWED[:2], [*PREVIEWED[2][:6], "Presented 14/12/2026", "1"]]
        again = upload(client, ("tracker-v2.txt", as_text(tmp_path / "v2", revised).read_bytes()))
        assert "columns as saved" in html.unescape(again.text)
        assert confirm(client, again).status_code == 303
    with app.sessions() as session:
        assert session.scalar(select(Action.progress)) == "Presented 14/12/2026"
