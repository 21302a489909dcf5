"""The business manager's escalation commands: rules, status, explain, ack, complete, retarget,
escalate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from worker import obligations
from worker.app import App
from worker.cli.common import app_from, console, plain_table, ready, show_report
from worker.db import transaction
from worker.directory.entries import find_agency
from worker.models import Agency, Obligation, StageChange
from worker.obligations import (
    Assessment,
    EventRefusedError,
    RefError,
    Unassessed,
    assess,
    find,
    record,
    record_event,
    sync_obligations,
    view_of,
)
from worker.obligations import (
    explain as explanation,
)
from worker.rules.ladder import Ladder, Rules, load_rules
from worker.rules.warnings import rule_warnings
from worker.yaml_files import ConfigError

ON = click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Assess as of this date.")
PLAN = click.option("--plan", help="The plan, when the ref is in more than one.")


def rules_of(app: App) -> Rules:
    try:
        return app.rules()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def day(app: App, on: datetime | None) -> date:
    return on.date() if on else app.today()


@click.group()
def rules() -> None:
    """The escalation rules: check a file; their versions (load, export, versions, rollback)."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, file: Path | None) -> None:
    """Validate a rules file (default: config/escalation.yaml) against the directory in
    force, as `rules load` would; name every problem. Nothing is saved."""
    app = app_from(ctx)
    path = file or app.files.rules_path
    try:
        loaded = load_rules(path, known_groups=app.directory().groups)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    names = ", ".join(f"{s.stage} {s.name}" for s in loaded.stages)
    click.echo(f"{path}: ok ({len(loaded.stages)} stages: {names})")
    for warning in rule_warnings(loaded, app.directory()):
        click.echo(f"warning: {warning}")


@click.group()
def escalation() -> None:
    """Where every obligation stands on the escalation ladder, and why."""


@contextmanager
def synced_read(app: App, rules: Rules) -> Iterator[Session]:
    """A session that sees the obligations as syncing the documents would leave them; it
    only reads: what the sync changed is rolled back when it closes."""
    with app.sessions() as session:
        sync_obligations(session, rules, app.timezone, app.today())
        session.flush()
        yield session


@escalation.command("status")
@ON
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON shape.")
@click.pass_context
def status(ctx: click.Context, on: datetime | None, as_json: bool) -> None:
    """Every open obligation: owner, stage, days overdue, next stage, who would be told."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    with synced_read(app, rules) as session:
        unassessed: list[Unassessed] = []
        found = assess(session, rules, day(app, on), unassessed)
        records = [status_record(a) for a in found if not a.decision.resolved]
        records += [unassessed_record(u) for u in unassessed]
    if as_json:
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        show_status(records, day(app, on))


def status_record(a: Assessment) -> dict[str, Any]:
    d = a.decision
    return {
        "key": a.row.key,
        "ref": a.ref,
        "kind": a.row.kind,
        "owner": a.owner.label,
        "target_date": d.target.isoformat() if d.target else None,
        "stage": d.stage,
        "stage_name": d.stage_name,
        "working_days_overdue": d.working_days_overdue,
        "next_stage": d.next_stage,
        "next_change": d.next_change.isoformat() if d.next_change else None,
        "paused_until": d.paused_until.isoformat() if d.paused_until else None,
        "unassigned": d.flagged_unassigned,
        "resolved": d.resolved,
        "told": [r.__dict__ for r in a.recipients],
        "missing_roles": a.missing_roles,
        "problem": None,
    }


def unassessed_record(u: Unassessed) -> dict[str, Any]:
    """An item the engine could not assess: what is known of it, and why."""
    target = u.row.target_date
    return {
        "key": u.row.key,
        "ref": u.ref,
        "kind": u.row.kind,
        "owner": None,
        "target_date": target.isoformat() if target else None,
        "stage": u.row.stage,
        "stage_name": None,
        "working_days_overdue": None,
        "next_stage": None,
        "next_change": None,
        "paused_until": None,
        "unassigned": u.row.kind == "unassigned",
        "resolved": False,
        "told": [],
        "missing_roles": [],
        "problem": f"could not assess: {u.reason}",
    }


def show_status(records: list[dict[str, Any]], on: date) -> None:
    ordered = sorted(records, key=lambda r: (r["problem"] is None, -r["stage"], r["ref"]))
    headings = ("Ref", "Owner", "Stage", "Days overdue", "Next change", "Told")
    title = f"{len(records)} open obligations on {on.isoformat()}"
    console.print(plain_table(title, headings, [status_row(r) for r in ordered]))
    for r in (r for r in records if r["problem"]):
        console.print(f"{r['ref']}: {r['problem']}", markup=False, highlight=False)


def status_row(r: dict[str, Any]) -> list[str]:
    if r["problem"]:
        return [short(r["ref"]), "—", "could not assess (see below)", "—", "—", "—"]
    flag = " [unassigned]" if r["unassigned"] else ""
    pause = f" (paused to {r['paused_until']})" if r["paused_until"] else ""
    nxt = f"stage {r['next_stage']} on {r['next_change']}" if r["next_change"] else "—"
    missing = f" (nobody for {', '.join(r['missing_roles'])})" if r["missing_roles"] else ""
    told = f"{len(r['told'])}{missing}"
    return [short(r["ref"]), r["owner"] + flag, r["stage_name"] + pause,
            str(r["working_days_overdue"]), nxt, told]  # fmt: skip


def short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@escalation.command("run")
@ON
@click.pass_context
def run(ctx: click.Context, on: datetime | None) -> None:
    """The daily sweep: record every stage change since the last one."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    with transaction(app.sessions) as session:
        changes = obligations.bring_up_to_date(session, rules, app.timezone, day(app, on))
        lines = [f"{c.label}: {c.from_stage} → {c.to_stage}: {c.reason}"
                 for c in changes]  # fmt: skip
    click.echo("\n".join(lines) or "no stage changes")


@escalation.command("explain")
@click.argument("ref")
@PLAN
@ON
@click.pass_context
def explain(ctx: click.Context, ref: str, plan: str | None, on: datetime | None) -> None:
    """The timeline of one item under the rules in force, with the reason for each step."""
    app = ready(app_from(ctx))
    rules, today = rules_of(app), day(app, on)
    with synced_read(app, rules) as session:
        for row in located(session, ref, plan):
            click.echo("\n".join(explanation(row, rules, today, app.timezone).lines()))


def located(
    session: Session, ref: str, plan: str | None, place: str | None = None
) -> list[Obligation]:
    try:
        return find(session, ref, plan, place)
    except RefError as exc:
        raise click.ClickException(str(exc)) from exc


ONE_DAY = timedelta(days=1)


BY = click.option("--by", required=True, help="Who did it (e-mail address).")


@click.command()
@click.argument("ref")
@BY
@click.option("--note", required=True, help="The progress note.")
@PLAN
@click.pass_context
def ack(ctx: click.Context, ref: str, by: str, note: str, plan: str | None) -> None:
    """Acknowledge an overdue item: the ladder pauses, then resumes where it was."""
    act(ctx, ref, plan, None, "acknowledged", note, by)


@click.command()
@click.argument("ref")
@click.option("--establishment", help="For an MI sheet: the establishment that completed it.")
@click.option("--by", default="business manager", show_default=True, help="Who recorded it.")
@click.option("--note", default="", help="What was done.")
@PLAN
@click.pass_context
def complete(ctx: click.Context, ref: str, establishment: str | None, by: str, note: str,
             plan: str | None) -> None:  # fmt: skip
    """Record an action (or one establishment's MI sheet) as complete: escalation ends."""
    act(ctx, ref, plan, establishment, "completed", note or "marked complete", by)


@click.command()
@click.argument("ref")
@click.argument("new_date", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reason", required=True, help="Why the date moves (kept in the record).")
@BY
@PLAN
@click.pass_context
def retarget(ctx: click.Context, ref: str, new_date: datetime, reason: str, by: str,
             plan: str | None) -> None:  # fmt: skip
    """Set a revised target date: the ladder restarts from it."""
    act(ctx, ref, plan, None, "retargeted", reason, by, new_date.date())


@click.command()
@click.argument("ref")
@BY
@click.option("--note", required=True, help="The progress made.")
@PLAN
@click.pass_context
def note(ctx: click.Context, ref: str, by: str, note: str, plan: str | None) -> None:
    """Add a progress note to an item, for the record; the ladder carries on."""
    act(ctx, ref, plan, None, "noted", note, by)


@click.command()
@click.argument("ref")
@click.option("--establishment", help="For an MI sheet: the establishment's item only.")
@click.option("--reason", required=True, help="Why it is open again (kept in the record).")
@BY
@PLAN
@click.pass_context
def reopen(ctx: click.Context, ref: str, establishment: str | None, reason: str, by: str,
           plan: str | None) -> None:  # fmt: skip
    """Reopen a completed item: the ladder restarts as if it were due today."""
    act(ctx, ref, plan, establishment, "reopened", reason, by)


@click.command()
@click.argument("ref")
@click.argument("agency")
@click.option("--from", "moving_from", help="The lead agency it moves from (default: the "
              "action's unassigned items).")  # fmt: skip
@click.option("--reason", default="", help="Why it moves (kept in the record).")
@BY
@PLAN
@click.pass_context
def reassign(ctx: click.Context, ref: str, agency: str, moving_from: str | None, reason: str,
             by: str, plan: str | None) -> None:  # fmt: skip
    """Give an action's unassigned items (or one lead agency's) to AGENCY, named as in the
    directory or by an alias; its people are told from now on."""
    act(ctx, ref, plan, None, "reassigned", reason, by, agency=(agency, moving_from))


def act(ctx: click.Context, ref: str, plan: str | None, place: str | None, kind: str,
        note: str, by: str, new_target: date | None = None,
        agency: tuple[str, str | None] | None = None) -> None:  # fmt: skip
    """Record `kind` on every obligation of REF it may happen to; say why if on none.
    `agency`: where a reassignment goes, and the lead agency it moves from (None: the
    unassigned items)."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    with transaction(app.sessions) as session:
        obligations.take_turn(session)
        obligations.keep_in_step(session, rules, app.timezone, app.today())
        rows, to = located(session, ref, plan, place), None
        if agency is not None:
            to, rows = agency_named(session, agency[0]), moving(session, rows, agency[1])
        refusals, done = [f"{ref}: no item to move"], 0
        for row in rows:
            try:
                record_event(row, kind, app.today(), by, note, new_target, to)
                done += 1
            except EventRefusedError as exc:
                refusals.append(str(exc))
        if not done:
            raise click.ClickException("; ".join(refusals[1:] or refusals))
        session.flush()
        record(session, rules, app.today())  # where the items stand now, on every screen
    click.echo(f"{ref}: {kind} for {done} obligation(s)")


@click.command()
@click.argument("ref")
@BY
@click.option("--reason", required=True, help="Why it goes up now (kept in the record).")
@click.option("--to-stage", "to_stage", type=click.IntRange(min=1),
              help="The stage to go up to (default: the one after where it stands).")  # fmt: skip
@PLAN
@click.pass_context
def escalate(ctx: click.Context, ref: str, by: str, reason: str, to_stage: int | None,
             plan: str | None) -> None:  # fmt: skip
    """Escalate an item now, ahead of its stage's time (an indicative timescale) or to a stage
    entered only on request: that stage, and any below it, are entered at once and their
    people are told at the next tick. Only upwards: to start lower, retarget it."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    at = app.now().astimezone(app.timezone).replace(tzinfo=None)
    with transaction(app.sessions) as session:
        obligations.take_turn(session)
        obligations.bring_up_to_date(session, rules, app.timezone, app.today())  # as it stands

        def escalate(row: Obligation) -> None:
            stage = to_stage or max(row.stage + 1, 1)
            top = (Ladder.from_json(row.ladder) if row.ladder else rules.ladder()).top
            if stage > top:
                raise EventRefusedError(f"{row.key}: there is no stage {stage} (the top is {top})")
            record_event(row, "escalated", app.today(), by, reason, stage=stage, at=at)

        done = each_located(located(session, ref, plan), escalate, f"{ref}: no item to escalate")
        session.flush()
        record(session, rules, app.today())  # entered now, on every screen
    click.echo(f"{ref}: escalated for {done} obligation(s)")


@click.command("met")
@click.argument("ref")
@click.argument("deadline")
@BY
@PLAN
@click.pass_context
def met(ctx: click.Context, ref: str, deadline: str, by: str, plan: str | None) -> None:
    """Record that DEADLINE (its name in the rules) within the item's stage was met."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    at = app.now().astimezone(app.timezone).replace(tzinfo=None)
    with transaction(app.sessions) as session:
        obligations.take_turn(session)
        obligations.bring_up_to_date(session, rules, app.timezone, app.today())

        def meet(row: Obligation) -> None:
            ladder = Ladder.from_json(row.ladder) if row.ladder else rules.ladder()
            names = [d.name for s in ladder.stages if s.number == row.stage for d in s.deadlines]
            if deadline not in names:
                known = ", ".join(names) or "none"
                raise EventRefusedError(f"{row.key}: its stage has no deadline {deadline!r} "
                                        f"(its deadlines: {known})")  # fmt: skip
            record_event(row, "deadline_met", app.today(), by, deadline, at=at)

        done = each_located(located(session, ref, plan), meet, f"{ref}: no item")
        session.flush()
        record(session, rules, app.today())
    click.echo(f"{ref}: {deadline} met for {done} obligation(s)")


def each_located(rows: Iterable[Obligation], act: Callable[[Obligation], None],
                 nothing: str) -> int:  # fmt: skip
    """`act` on each row; how many it acted on. ClickException with every refusal (or
    `nothing`) when it acted on none."""
    refusals, done = [], 0
    for row in rows:
        try:
            act(row)
            done += 1
        except EventRefusedError as exc:
            refusals.append(str(exc))
    if not done:
        raise click.ClickException("; ".join(refusals) or nothing)
    return done


def moving(session: Session, rows: list[Obligation], source: str | None) -> list[Obligation]:
    """The items a reassignment moves: those of the lead agency named, or the unassigned."""
    if source is None:
        return [r for r in rows if r.kind == "unassigned"]
    agency = agency_named(session, source)
    return [r for r in rows if r.agency_id == agency.id]


def agency_named(session: Session, name: str) -> Agency:
    found = find_agency(session, name)
    if found is None:
        raise click.ClickException(f"no agency called {name!r} in the directory")
    return found


@escalation.command("reapply")
@click.argument("ref", required=False)
@PLAN
@click.option("--by", required=True, help="Who decided (kept in the record).")
@click.pass_context
def reapply_command(ctx: click.Context, ref: str | None, plan: str | None, by: str) -> None:
    """Put live items (one REF, or all) under the rules in force instead of their copy."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    with transaction(app.sessions) as session:
        obligations.take_turn(session)
        rows = located(session, ref, plan) if ref else list(session.scalars(select(Obligation)))
        changed = obligations.reapply(session, rows, f"escalation reapply by {by}", app.now())
        session.flush()
        record(session, rules, app.today())  # where the items stand now, on every screen
    click.echo(f"{changed} live obligation(s) now follow the rules in force")


@click.group()
def report() -> None:
    """Reports for the partnership's records."""


@report.command("escalations")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only changes on or after.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for a spreadsheet.")
@click.pass_context
def escalations(ctx: click.Context, since: datetime | None, as_csv: bool) -> None:
    """Every recorded stage change: when, from, to, and why."""
    app = ready(app_from(ctx))
    rules = rules_of(app)
    with app.sessions() as session:
        rows = stage_changes(session, since.date() if since else None)
        lines = [change_row(c, rules) for c in rows]
    header = ["date", "ref", "obligation", "from", "to", "reason", "recorded_at"]
    show_report("stage changes", header, lines, as_csv)


def stage_changes(session: Session, since: date | None) -> list[StageChange]:
    query = select(StageChange).options(selectinload(StageChange.obligation))
    if since:
        query = query.where(StageChange.on >= since)
    return list(session.scalars(query.order_by(StageChange.on, StageChange.id)))


def change_row(change: StageChange, rules: Rules) -> list[str]:
    row = change.obligation
    ladder = Ladder.from_json(row.ladder) if row.ladder else rules.ladder()
    return [
        change.on.isoformat(),
        view_of(row).label,
        row.key,
        ladder.stage_name(change.from_stage),
        ladder.stage_name(change.to_stage),
        change.reason,
        change.recorded_at.isoformat(timespec="seconds"),
    ]
