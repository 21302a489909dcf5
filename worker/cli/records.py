"""Commands for the records: initialise, import documents, list them, check the configuration."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from worker import listing
from worker.app import App, NotInitialisedError
from worker.cli.common import app_from, console, plain_table, ready
from worker.importers import ImportResult, import_files
from worker.recipients import Partnership, UnknownContact, unknown_la_contacts
from worker.yaml_files import ConfigError


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create or upgrade the database and load the directory into it."""
    app = app_from(ctx)
    try:
        app.initialise()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Database ready: {app.engine.url.render_as_string(hide_password=True)}")


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--plan", help="Plan name for these actions (default: the document's title).")
@click.pass_context
def import_command(ctx: click.Context, files: tuple[Path, ...], plan: str | None) -> None:
    """Import Composite Action Plans, MI sheets and CSV files."""
    app = ready(app_from(ctx))
    options = app.import_options(plan)
    results = import_files(list(files), app.sessions, options, app.now())
    for result in results:
        report(result)
    if any(r.error for r in results):
        sys.exit(1)


def report(result: ImportResult) -> None:
    if result.error is not None:
        console.print(f"[red]refused[/red] {escape(str(result.error))}", highlight=False)
        return
    for o in result.outcomes:
        counts = f"{o.created} new, {o.updated} updated, {o.unchanged} unchanged"
        retired = f", {o.retired} {o.retired_as}" if o.retired else ""
        line = f"{result.path} ({result.kind}): {o.subject}: {o.items} {counts}{retired}"
        console.print(f"[green]imported[/green] {escape(line)}", highlight=False)


@click.command("list")
@click.argument("what", type=click.Choice(["actions", "mi-sheets", "sessions"]))
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON shape.")
@click.pass_context
def list_command(ctx: click.Context, what: str, as_json: bool) -> None:
    """List imported actions, MI sheets or briefing sessions."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        if what == "actions":
            records = listing.actions(session)
        elif what == "mi-sheets":
            records = listing.mi_sheets(session, app.timezone)
        else:
            records = listing.sessions(session, app.timezone)
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        show_table(what, records)


def show_table(what: str, records: list[dict[str, Any]]) -> None:
    columns = listing.COLUMNS[what]
    rows = [[listing.cell(record[key])[:60] for _, key in columns] for record in records]
    title = f"{len(records)} {what.replace('-', ' ')}"
    console.print(plain_table(title, [heading for heading, _ in columns], rows))


@click.group()
def config() -> None:
    """Check the configuration files."""


@config.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate settings and the directory file; every problem names its file and key."""
    app = app_from(ctx)
    try:
        directory = app.files.read_directory()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"settings: ok ({app.settings.database_url.split(':')[0]} database)")
    click.echo(
        f"{app.files.directory_path}: ok ({len(directory.agencies)} agencies, "
        f"{len(directory.establishments)} establishments, {len(directory.la_contacts)} LA contacts)"
    )
    for unknown in documents_not_in_the_directory(app):
        click.echo(f"warning: {unknown.sheet}: {unknown.problem}")


def documents_not_in_the_directory(app: App) -> list[UnknownContact]:
    """What the imported documents name that the directory lacks (nothing before `init`)."""
    try:
        app.check_schema()
    except NotInitialisedError:
        return []
    app.sync_directory()
    with app.sessions() as session:
        return unknown_la_contacts(session, Partnership.load(session), app.timezone)
