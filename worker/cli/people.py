"""`reminders person`: what the service holds about one person (worker/privacy/)."""

from __future__ import annotations

from pathlib import Path

import click

from worker.cli.common import app_from, ready
from worker.privacy.subject_access import export


@click.group("person")
def person_group() -> None:
    """A person's data: everything held about them, for a subject access request."""


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
