"""What every command shares: the application context and the console."""

from __future__ import annotations

import csv
import io

import click
from rich.console import Console
from rich.table import Table

from worker.app import App, NotInitialisedError
from worker.settings import ConfigError

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


def show_report(title: str, header: list[str], rows: list[list[str]], as_csv: bool) -> None:
    """A report as CSV for a spreadsheet, or as a table for people."""
    if as_csv:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        click.echo(buffer.getvalue(), nl=False)
        return
    table = Table(title=f"{len(rows)} {title}")
    for heading in header:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
