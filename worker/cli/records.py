"""Commands for the records: initialise, import documents, list them, check the configuration."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import Progress
from rich.text import Text

from worker.app import App, NotInitialisedError
from worker.cli import listing
from worker.cli.backups import backup_key_warning
from worker.cli.common import app_from, console, plain_table, ready
from worker.delivery.morning import Morning, morning_after
from worker.directory.recipients import Partnership, UnknownContact, unknown_la_contacts
from worker.importers import ImportResult, received
from worker.importers.column_map import read_column_map
from worker.importers.preview import Entry, entries
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
@click.option("--plan", help="Plan name for these actions (default: the document's title, "
              "else its first heading, else its file's name); with several files, only for "
              "those that have no title of their own.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show what would change; store nothing.")
@click.option("--by", help="Who imports, for the import history (default: this user).")
@click.option(
    "--columns",
    "column_map",
    type=click.Path(path_type=Path, exists=True),
    help="A column map (YAML): which heading holds each field of these plans.",
)
@click.option("--start", type=click.Choice(["as-dated", "today"]), default="as-dated",
              show_default=True, help="How the ladder starts for items already overdue: as "
              "dated (a plan entered as it happens), or today, as if each reached its target "
              "today (a plan the partnership already had).")  # fmt: skip
@click.option(
    "--at-stage",
    type=click.IntRange(min=1),
    default=None,
    help="With --start today: the stage the ladder's first step enters (default 1).",
)
@click.pass_context
def import_command(ctx: click.Context, files: tuple[Path, ...], plan: str | None, dry_run: bool,
                   by: str | None, column_map: Path | None, start: str, at_stage: int | None,
                   ) -> None:  # fmt: skip
    """Import Composite Action Plans, MI sheets and CSV files (Word, Excel, PDF, web pages
    and text); a refused one changes nothing, the others still import; --dry-run previews
    each instead."""
    app = ready(app_from(ctx))
    who = by or f"command line ({getpass.getuser()})"
    try:
        columns = read_column_map(column_map) if column_map else None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    start_stage = ladder_start(app, start, at_stage)
    importer = app.importer(who, plan, dry_run=dry_run, if_untitled=len(files) > 1,
                            columns=columns, start_stage=start_stage)  # fmt: skip
    with Progress(console=console, transient=True, disable=len(files) < 5) as progress:
        task = progress.add_task("Importing", total=len(files))
        results = importer.files(files, lambda _: progress.advance(task))
    if not dry_run:
        app.follow_change()
    for result in results:
        report(result, dry_run)
    if dry_run and any(r.error is None for r in results):
        readable = [importer.parse(received(path))
                    for path, r in zip(files, results, strict=True) if not r.error]  # fmt: skip
        show_morning(importer.rehearse(readable, lambda s: morning_after(s, app, app.today())))
    if any(r.error for r in results):
        sys.exit(1)


def ladder_start(app: App, start: str, at_stage: int | None) -> int | None:
    """The stage an overdue item's started ladder first enters, or None (as dated)."""
    if start == "as-dated":
        if at_stage is not None:
            raise click.BadParameter("only with --start today", param_hint="--at-stage")
        return None
    top = app.rules().ladder().top
    if at_stage is not None and at_stage > top:
        raise click.BadParameter(f"the ladder's stages go up to {top}", param_hint="--at-stage")
    return at_stage or 1


def report(result: ImportResult, dry_run: bool = False) -> None:
    if result.error is not None:
        console.print(f"[red]refused[/red] {escape(str(result.error))}", highlight=False)
        return
    done = "would import" if dry_run else "imported"
    for o in result.outcomes:
        line = f"{result.name} ({result.kind}): {o.described()}"
        console.print(f"[green]{done}[/green] {escape(line)}", highlight=False)
    if dry_run:
        for entry in entries(result.changes):
            console.print(Text(f"  {described(entry)}"), highlight=False)


def show_morning(morning: Morning) -> None:
    """What the import would cause on the next working morning, and what to put right."""
    console.print(f"\nThe morning after: {morning.day:%A %-d %B %Y}", highlight=False)
    for name, count in morning.stages:
        console.print(Text(f"  {count} at {name}"), highlight=False)
    console.print(f"  {len(morning.told)} digest(s) would go:", highlight=False)
    for told in morning.told:
        line = f"    {told.name} <{told.email}>: {told.items} item(s), up to stage {told.top_stage}"
        console.print(Text(line), highlight=False)
    if morning.warnings:
        console.print("\nTo put right first:", highlight=False)
    for warning in morning.warnings:
        where = f" ({warning.href})" if warning.href else ""
        console.print(Text(f"  - {warning.what} {warning.fix}{where}"), highlight=False)


def described(entry: Entry) -> str:
    """'changed action Plan 1.2: Target date 2027-06-01 → 2027-06-30'."""
    parts = [
        f"{f.label} {f.old} → {f.new}" if f.old is not None else f"{f.label} {f.new}"
        for f in entry.fields
    ]
    head = f"{entry.what} {entry.subject} {entry.key}"
    return f"{head}: {'; '.join(parts)}" if parts else head


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
    if (backups := backup_key_warning(app.settings)) is not None:
        click.echo(f"warning: {backups}")


def documents_not_in_the_directory(app: App) -> list[UnknownContact]:
    """What the imported documents name that the directory lacks (nothing before `init`)."""
    try:
        app.check_schema()
    except NotInitialisedError:
        return []
    app.sync_directory()
    with app.sessions() as session:
        return unknown_la_contacts(session, Partnership.load(session), app.timezone)
