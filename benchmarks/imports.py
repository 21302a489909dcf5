"""B4: importing an actions CSV and MI sheets, against parsing the same files alone.

The files are made from the shapes in `examples/`: one actions CSV of `csv_rows` rows over
ten plans, and `mi_sheets` copies of a CPD sheet with four sessions each, every number and
course code unique.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.databases import Databases, app_for
from benchmarks.measure import Figure
from benchmarks.scales import TODAY, Scale
from worker.app import App
from worker.importers import Importer, ImportOptions, import_files, parse_file, received

ROOT = Path(__file__).resolve().parents[1]
SHEET = ROOT / "examples" / "mi-2026-044.txt"
HEADER = ["plan", "ref", "theme", "scr_refs", "action", "lead_agency", "target_date", "progress"]
LEADS = ("Health", "Children's Services", "Education", "NSCB", "Health/NSCB")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TARGET = "≤ 2x"


def write_csv(folder: Path, rows: int) -> Path:
    path = folder / "actions.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            due = (TODAY + timedelta(days=i % 120 - 60)).strftime("%d/%m/%Y")
            writer.writerow([f"Benchmark plan {i % 10}", f"{i // 10 + 1}.1",
                             "Professional curiosity", "A, B", f"Carry out action {i}.",
                             LEADS[i % len(LEADS)], due, "Under way."])  # fmt: skip
    return path


def code(j: int) -> str:
    """A unique course code in the shipped pattern ([A-Z]{3}-\\d{4}-[A-Z]\\d{3})."""
    return f"RLS-{j // 1000 % 12 + 1:02d}{30 + j // 12000:02d}-T{j % 1000:03d}"


def write_sheets(folder: Path, count: int) -> list[Path]:
    template = SHEET.read_text(encoding="utf-8")
    codes = re.findall(r"RLS-\d{4}-T\d{3}", template)
    paths = []
    for n in range(count):
        text = template.replace("MI Number:44/26", f"MI Number:{n + 1}/27")
        for k, old in enumerate(codes):
            text = text.replace(old, code(n * len(codes) + k))
        path = folder / f"mi-{n + 1:04d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def options(app: App) -> ImportOptions:
    return app.import_options()


def one(backend: str, databases: Databases, files: list[Path], what: str) -> list[Figure]:
    """The import into a fresh database, then a preview (a dry run) of the CSV again."""
    app = app_for(databases.fresh(backend, "b4"))
    given = options(app)
    start = time.perf_counter()
    for path in files:
        parse_file(path, given)
    floor = time.perf_counter() - start
    start = time.perf_counter()
    results = import_files(files, app.sessions, given, NOW)
    seconds = time.perf_counter() - start
    refused = sum(1 for r in results if r.error is not None)
    extra = {"files": len(files), "refused": refused}
    figures = [Figure("B4", f"{what}, {backend}", seconds, floor, "s", TARGET, extra=extra)]
    csv_file = files[0]
    start = time.perf_counter()
    parse_file(csv_file, given)
    csv_floor = time.perf_counter() - start
    start = time.perf_counter()
    [preview] = Importer(app.sessions, given, NOW, dry_run=True).run([received(csv_file)])
    seconds = time.perf_counter() - start
    app.close()
    changes = {"rows shown": len(preview.changes), "refused": int(preview.error is not None)}
    figures.append(Figure("B4", f"preview of the CSV again, {backend}", seconds, csv_floor,
                          "s", TARGET, extra=changes))  # fmt: skip
    return figures


def run(scale: Scale, databases: Databases, folder: Path) -> list[Figure]:
    folder.mkdir(parents=True, exist_ok=True)
    files = [write_csv(folder, scale.csv_rows), *write_sheets(folder, scale.mi_sheets)]
    what = f"import {scale.csv_rows:,}-row CSV + {scale.mi_sheets:,} MI sheets"
    return [f for backend in ("sqlite", "postgresql") for f in one(backend, databases, files, what)]
