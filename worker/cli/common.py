"""What every command shares: the application context and the console."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from worker.app import App, NotInitialisedError
from worker.reports.csv_files import csv_text
from worker.yaml_files import ConfigError

console = Console(soft_wrap=True)


def app_from(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    if app is None:
        raise click.ClickException("no application context")
    return app


def ready(app: App) -> App:
    """The app with its schema at the latest revision and the directory loaded."""
    try:
        app.check_schema()
        app.sync_directory()
    except (NotInitialisedError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    return app


def plain_table(title: str, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """A table whose cells are shown exactly as written: text from documents, notes and
    the directory is never read as terminal markup ("[/bold]" is shown, not obeyed)."""
    table = Table(title=Text(title))
    for heading in headings:
        table.add_column(Text(heading), overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def show_report(title: str, header: list[str], rows: list[list[str]], as_csv: bool) -> None:
    """A report as CSV for a spreadsheet, or as a table for people."""
    if as_csv:
        click.echo(csv_text(header, rows), nl=False)
        return
    console.print(plain_table(f"{len(rows)} {title}", header, rows))
