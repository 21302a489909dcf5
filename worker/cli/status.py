"""`reminders status`: when each periodic job last ran, the digests waiting, the last send,
and the latest alarm about a day's digests (worker/delivery/jobs.py, alarm.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from worker.cli.common import app_from, console, plain_table, ready
from worker.delivery import jobs

JOBS = (jobs.TICK, jobs.DAILY_RUN, jobs.BACKUP, jobs.BOUNCES)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="As JSON, for a monitoring script.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """How the service stands: each job's last start, success and failure, the digests
    waiting to go, the last one sent, and the latest day whose digests did not all go."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        found = jobs.status(session)
    if as_json:
        click.echo(json.dumps(as_record(found), indent=1))
        return
    rows = [run_row(name, found.run(name)) for name in JOBS]
    headings = ["job", "last started", "last succeeded", "last failed", "failures", "error"]
    console.print(plain_table("Periodic jobs", headings, rows))
    click.echo(f"Digests waiting to be sent: {found.waiting}; held for a refused address: "
               f"{found.held}; last sent: {stamp(found.last_sent_at) or 'never'}")  # fmt: skip
    if found.paused_until is not None:
        click.echo(f"Sending is paused by Notify's daily limit until {stamp(found.paused_until)}")
    alarm = found.alarm
    if alarm is not None:
        since = "all have gone since" if alarm.sent_pinged_at else "not put right yet"
        click.echo(f"Latest alarm: the digests for {alarm.period.isoformat()} did not all go "
                   f"out ({alarm.alarm}); {since}")  # fmt: skip


def run_row(name: str, run: jobs.Run | None) -> list[str]:
    if run is None:
        return [name, "never", "", "", "", ""]
    return [name, stamp(run.started_at), stamp(run.succeeded_at), stamp(run.failed_at),
            str(run.failures), run.error or ""]  # fmt: skip


def as_record(found: jobs.Status) -> dict[str, Any]:
    alarm = found.alarm
    return {
        "jobs": {
            name: {
                "started_at": stamp(r.started_at),
                "succeeded_at": stamp(r.succeeded_at),
                "failed_at": stamp(r.failed_at),
                "failures": r.failures,
                "error": r.error,
            }
            for name, r in found.runs.items()
        },
        "waiting": found.waiting,
        "held": found.held,
        "last_sent_at": stamp(found.last_sent_at),
        "paused_until": stamp(found.paused_until),
        "alarm": None
        if alarm is None
        else {
            "period": alarm.period.isoformat(),
            "raised_at": stamp(alarm.alarm_at),
            "why": alarm.alarm,
            "all_sent_since": alarm.sent_pinged_at is not None,
        },
    }


def stamp(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""
