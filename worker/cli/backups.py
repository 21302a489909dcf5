"""`reminders backup`: make a backup key, and make, check and restore backups
(worker/backups/)."""

from __future__ import annotations

from pathlib import Path

import click

from worker import backups
from worker.backups import BackupError, keys
from worker.cli.common import app_from, ready
from worker.settings import Settings

ARCHIVE = click.Path(path_type=Path, dir_okay=False)
IDENTITY = click.option(
    "--identity", "identity_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The file holding the backup identity (else REMINDERS_BACKUP_IDENTITY, or the file "
         "backup_identity_file names).",
)  # fmt: skip


@click.group("backup")
def backup_group() -> None:
    """Back up the database, the imported originals, the signing key and the configuration
    files into one archive, encrypted and authenticated; check one; restore one into an
    empty database."""


def backup_key_warning(settings: Settings) -> str | None:
    """What `config check` says when the day's backups are asked for but cannot be made."""
    if settings.backup_dir is None:
        return None
    try:
        keys.sealing(settings)
    except BackupError as exc:
        return f"backup_dir is set, but the day's backups fail: {exc}"
    return None


@backup_group.command("key")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def key(file: Path) -> None:
    """The settings of the server that makes backups FILE's identity opens; a new identity
    is written into FILE (0600) when there is no such file. Keep FILE off that server."""
    try:
        if file.exists():
            identities = keys.parse_identities(keys.read_identity_file(file), str(file))
        else:
            identities = [keys.new_identity(file)]
            click.echo(f"{file}: a new backup identity; keep it safe, and off the server",
                       err=True)  # fmt: skip
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if len(identities) != 1:
        raise click.ClickException(f"{file}: holds {len(identities)} identities; give the "
                                   "server's in a file of its own")  # fmt: skip
    for name, value in keys.server_settings(identities[0]).items():
        click.echo(f"{name}={value}")


@backup_group.command("create")
@click.argument("file", type=ARCHIVE)
@click.pass_context
def create(ctx: click.Context, file: Path) -> None:
    """Write a backup to FILE, encrypted to backup_recipient (only when whole: a failed
    backup leaves no file)."""
    app = ready(app_from(ctx))
    try:
        manifest = backups.create(app, file, app.now())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{file}: backup of the {manifest.database} database (migration "
               f"{manifest.revision}) and {len(manifest.members) - 1} file(s)")  # fmt: skip


@backup_group.command("verify")
@click.argument("file", type=ARCHIVE)
@IDENTITY
@click.pass_context
def verify(ctx: click.Context, file: Path, identity_file: Path | None) -> None:
    """Check that FILE is a whole backup made with the backup key: it decrypts, its
    manifest is authentic, every member is there with its size and SHA-256."""
    try:
        opening = keys.opening(app_from(ctx).settings, identity_file)
        manifest = backups.verify(file, opening)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{file}: whole; {len(manifest.members)} member(s), made {manifest.created_at}")


@backup_group.command("restore")
@click.argument("file", type=ARCHIVE)
@IDENTITY
@click.option("--replace", is_flag=True,
              help="Put the backup in place of a database that is not empty.")  # fmt: skip
@click.pass_context
def restore(ctx: click.Context, file: Path, identity_file: Path | None, replace: bool) -> None:
    """Restore FILE into the database the settings name (stop the worker and web server
    first). It is verified whole before anything is changed."""
    app = app_from(ctx)
    try:
        opening = keys.opening(app.settings, identity_file)
        done = backups.restore(app, file, opening, replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    app.publish_feeds()
    for line in done:
        click.echo(line)
