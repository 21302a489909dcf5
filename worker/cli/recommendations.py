"""`reminders recommendations`: reviews' recommendations and the CAP actions answering them."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker import obligations
from worker.cli.common import app_from, console, plain_table, ready
from worker.db import transaction
from worker.models import Action, Plan
from worker.obligations.recommendations import find_recommendation, link, standings


@click.group("recommendations")
def recommendations() -> None:
    """Recommendations from learning briefings, and the actions that answer them."""


@recommendations.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """Each recommendation: the action answering it, or the actions suggested."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        rows = [[s.recommendation.review, str(s.recommendation.number),
                 s.recommendation.text[:80], answered(s.recommendation.action),
                 ", ".join(answered(a) for a in s.suggested)]
                for s in standings(session)]  # fmt: skip
    headings = ["review", "no.", "recommendation", "answered by", "suggested"]
    console.print(plain_table("Recommendations", headings, rows))


def answered(action: Action | None) -> str:
    return f"{action.ref} ({action.plan.title})" if action is not None else ""


@recommendations.command("link")
@click.argument("review")
@click.argument("number", type=int)
@click.argument("ref")
@click.option("--plan", help="The action's plan, when several plans have REF.")
@click.option("--by", required=True, help="Who links them, for the record.")
@click.pass_context
def link_command(
    ctx: click.Context, review: str, number: int, ref: str, plan: str | None, by: str
) -> None:
    """Record that action REF answers recommendation NUMBER of REVIEW ('Case A1' 3 4.6)."""
    app = ready(app_from(ctx))
    with transaction(app.sessions) as session:
        obligations.take_turn(session)  # its item is completed: no assessment overwrites it
        row = find_recommendation(session, review, number)
        if row is None:
            raise click.ClickException(f"no recommendation {number} of {review!r}")
        action = action_of(session, ref, plan)
        link(session, row, action, by, app.now(), app.today())
        session.flush()
        obligations.bring_up_to_date(session, app.rules(), app.timezone, app.today())
    click.echo(f"Recommendation {number} of {row.review} is answered by action {ref}")


def action_of(session: Session, ref: str, plan: str | None) -> Action:
    query = select(Action).join(Plan).where(Action.ref == ref.strip())
    if plan:
        query = query.where(Plan.title == plan.strip())
    found = list(session.scalars(query))
    if len(found) != 1:
        plans = "; ".join(a.plan.title for a in found)
        why = f"in several plans ({plans}): give --plan" if found else "not found"
        raise click.ClickException(f"action {ref}: {why}")
    return found[0]
