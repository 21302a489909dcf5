"""`reminders report cap`: the Composite Action Plan as the monitoring sub-group reads it."""

from __future__ import annotations

from pathlib import Path

import click

from worker.cli.common import app_from, ready
from worker.reports.cap import NoPlanError, report_of
from worker.reports.files import FORMATS, file_name, written


@click.command("cap")
@click.option("--plan", help="The plan's title (needed when there are several).")
@click.option("--format", "form", type=click.Choice(list(FORMATS)), default="docx",
              show_default=True, help="Word, Excel or a web page.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False),
              help='Where to write it (default: "PLAN - CAP report - DATE.FORMAT").')  # fmt: skip
@click.pass_context
def cap(ctx: click.Context, plan: str | None, form: str, output: Path | None) -> None:
    """The plan grouped by theme: each action's lead agency, target date, status in words
    (Complete, On track, Due soon, Overdue), stage and latest progress, under a summary."""
    app = ready(app_from(ctx))
    try:
        report = report_of(app, plan)
    except NoPlanError as exc:
        raise click.ClickException(str(exc)) from exc
    path = output or Path(file_name(report, form))
    path.write_bytes(written(report, form))
    click.echo(f"{path}: {report.title}, {sum(len(t.lines) for t in report.themes)} actions")
