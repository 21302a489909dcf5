"""`reminders retention`: what the retention schedule makes due, and its destruction
(worker/privacy/retention.py)."""

from __future__ import annotations

import click

from worker.cli.common import app_from, console, plain_table, ready
from worker.db import transaction
from worker.models import RetentionReview
from worker.privacy.retention import apply, review, summary


@click.group("retention")
def retention_group() -> None:
    """The retention schedule (the rules' `retention` section): review what is due, then
    destroy exactly what a review listed."""


@retention_group.command("review")
@click.option("--by", required=True, help="Who reviews (e-mail address).")
@click.pass_context
def review_command(ctx: click.Context, by: str) -> None:
    """List what the schedule makes due for destruction now, kept as a numbered review."""
    app = ready(app_from(ctx))
    with transaction(app.sessions) as session:
        made = review(session, app.rules().retention, app.now(), by)
        number, counts = made.id, summary(made.due)
    rows = [[cls, str(n)] for cls, n in counts]
    console.print(plain_table(f"Retention review {number}", ["record class", "due"], rows))
    if counts:
        click.echo(f"Nothing is destroyed until: reminders retention apply {number} "
                   "--by EMAIL --reason TEXT")  # fmt: skip


@retention_group.command("apply")
@click.argument("number", type=int)
@click.option("--by", required=True, help="Who destroys (e-mail address).")
@click.option("--reason", required=True, help="Why (kept with the review).")
@click.pass_context
def apply_command(ctx: click.Context, number: int, by: str, reason: str) -> None:
    """Destroy what review NUMBER listed that is still due and not held."""
    app = ready(app_from(ctx))
    with transaction(app.sessions) as session:
        found = session.get(RetentionReview, number)
        if found is None:
            raise click.ClickException(f"there is no retention review {number}")
        try:
            done = apply(session, found, app.rules().retention, app.now(), by, reason,
                         app.settings.imports_dir)  # fmt: skip
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    done.remove_files()
    app.follow_change()
    said = ", ".join(f"{cls} {n}" for cls, n in done.counts.items()) or "nothing was due"
    click.echo(f"Review {number} applied: {said}")
