"""Every download the import history offers answers with the document: the samples loaded
at first start are kept as any import's originals are, and a document whose original is not
kept (imported before originals were, or destroyed under the retention schedule) is listed
without a link."""

from __future__ import annotations

import re

from tests.support.console import MANAGER, every_download, sign_in
from tests.support.web import serving
from worker.app import App
from worker.cli.digests import first_start
from worker.importers import import_files
from worker.paths import EXAMPLES_DIR


def samples() -> list[bytes]:
    return sorted(p.read_bytes() for p in EXAMPLES_DIR.iterdir() if p.suffix in {".txt", ".csv"})


def test_the_samples_loaded_at_first_start_are_downloaded_as_they_are(app: App) -> None:
    assert first_start(app)
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        got = every_download(client)
    assert sorted(got) == samples()


def test_a_document_whose_original_is_not_kept_is_listed_without_a_link(app: App) -> None:
    [plan] = [p for p in EXAMPLES_DIR.iterdir() if p.name == "cap-2026.txt"]
    import_files([plan], app.sessions, app.import_options(), app.now())  # nothing kept
    assert first_start(app) is False  # not empty: no samples, nothing else kept either
    with serving(app) as client:
        sign_in(client, app, MANAGER)
        page = client.get("/console/imports").text
        assert every_download(client) == []
    row = re.search(r"<td>cap-2026\.txt<br><span class=\"govuk-hint\">[^<]*</span>", page)
    assert row is not None, page
    assert row.group(0).endswith("bytes; original not kept</span>")
