"""`reminders person`: what the service holds about one person (worker/privacy/)."""

from __future__ import annotations

from pathlib import Path

import click

from worker.cli.common import app_from, ready
from worker.config.versions import Author
from worker.privacy.erasure import Afterwards, StillInDirectoryError, afterwards, erase
from worker.privacy.subject_access import export


@click.group("person")
def person_group() -> None:
    """A person's data: everything held about them (a subject access request), and the
    erasure of a leaver."""


@person_group.command("export")
@click.argument("email")
@click.option("--to", "path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The archive to write (a .zip: held.json and summary.html).")  # fmt: skip
@click.pass_context
def export_command(ctx: click.Context, email: str, path: Path) -> None:
    """Write everything the service holds about EMAIL (and the names the directory gives
    that address) to one archive, readable by its owner alone."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        made = export(session, email, app.now())
    made.write(path)
    rows = sum(made.counts.values())
    click.echo(f"{path}: {rows} record(s) in {len(made.counts)} table(s)"
               + "".join(f"\n  {table}: {n}" for table, n in made.counts.items()))  # fmt: skip


@person_group.command("erase")
@click.argument("email")
@click.option("--by", required=True, help="Who erases (for the record).")
@click.option("--reason", required=True, help="Why, e.g. the retention period since they left.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.pass_context
def erase_command(ctx: click.Context, email: str, by: str, reason: str, dry_run: bool) -> None:
    """Erase a leaver: their address and names replaced everywhere by one pseudonym, the
    bodies of digests sent to them removed, and the outbox's messages to them; counts, dates
    and the stage history kept."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        try:
            done = erase(session, email, app.directory(), Author(by, reason), app.now())
        except StillInDirectoryError as exc:
            raise click.ClickException(str(exc)) from exc
        if not dry_run:
            session.commit()
            after = afterwards(session, email, app.settings.outbox_dir)
    said, pseudonym = "would be" if dry_run else "now", done.pseudonym
    click.echo(f"{email} is {said} {pseudonym.name} ({pseudonym.address}) in "
               f"{sum(done.changed.values())} record(s)"
               + "".join(f"\n  {table}: {n}" for table, n in done.changed.items()))  # fmt: skip
    if done.kept_names:
        names = ", ".join(sorted(done.kept_names))
        click.echo(
            f"left as written: {names} (also the name of someone in the directory, "
            "or a post's title)"
        )
    if not dry_run:
        told(after)


def told(after: Afterwards) -> None:
    """What was done once the erasure was committed."""
    if after.removed:
        click.echo(f"removed from the outbox: {len(after.removed)} message(s) to them")
    if not after.checkpointed:
        click.echo(
            "warning: the database's write-ahead log still holds the rows as they were "
            "(a reader kept it from being emptied): run the command again later"
        )
