"""`reminders backup`: make, check and restore backups (worker/backups/)."""

from __future__ import annotations

from pathlib import Path

import click

from worker import backups
from worker.backups import BackupError
from worker.cli.common import app_from, ready

ARCHIVE = click.Path(path_type=Path, dir_okay=False)


@click.group("backup")
def backup_group() -> None:
    """Back up the database, the imported originals, the signing key and the configuration
    files into one archive; check one; restore one into an empty database."""


@backup_group.command("create")
@click.argument("file", type=ARCHIVE)
@click.pass_context
def create(ctx: click.Context, file: Path) -> None:
    """Write a backup to FILE (only when whole: a failed backup leaves no file)."""
    app = ready(app_from(ctx))
    try:
        manifest = backups.create(app, file, app.now())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{file}: backup of the {manifest.database} database (migration "
               f"{manifest.revision}) and {len(manifest.members) - 1} file(s)")  # fmt: skip


@backup_group.command("verify")
@click.argument("file", type=ARCHIVE)
def verify(file: Path) -> None:
    """Check that FILE is a whole backup: every member there, with its size and SHA-256."""
    try:
        manifest = backups.verify(file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{file}: whole; {len(manifest.members)} member(s), made {manifest.created_at}")


@backup_group.command("restore")
@click.argument("file", type=ARCHIVE)
@click.option("--replace", is_flag=True,
              help="Put the backup in place of a database that is not empty.")  # fmt: skip
@click.pass_context
def restore(ctx: click.Context, file: Path, replace: bool) -> None:
    """Restore FILE into the database the settings name (stop the worker and web server
    first). It is verified whole before anything is changed."""
    app = app_from(ctx)
    try:
        done = backups.restore(app, file, replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    app.publish_feeds()
    for line in done:
        click.echo(line)
