"""Commands for digests: send a period now, preview it, report deliveries, run the worker."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click
from sqlalchemy import select

from worker.app import App
from worker.cli.common import app_from, ready, show_report
from worker.cli.supervisor import run_together
from worker.cli.web import HOST, PORT, check_signing_key
from worker.delivery.ledger import deliver
from worker.delivery.morning import previewed_digests
from worker.delivery.planning import latest_period
from worker.delivery.tick import plan_once
from worker.importers import import_files
from worker.mail.digest import Digest
from worker.mail.message import build_digest_message
from worker.mail.transports import transport_for
from worker.models import Delivery, DeliveryState, Plan
from worker.paths import EXAMPLES_DIR
from worker.settings import Settings

ON = click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="The send period.")


@click.command()
@ON
@click.pass_context
def send(ctx: click.Context, on: datetime | None) -> None:
    """Plan one period and send its digests now, without Celery (for cron users and demos)."""
    app = ready(app_from(ctx))
    period = on.date() if on else app.today()
    plan_once(app, app.rules(), period, app.partnership_label())
    transport = transport_for(app.settings)
    with app.sessions() as session:
        query = select(Delivery.id).where(Delivery.period == period)
        ids = list(session.scalars(query.where(Delivery.state == DeliveryState.PENDING)))
    try:
        outcomes = [deliver(app.sessions, transport, app.settings, i, app.now()) for i in ids]
    finally:
        transport.close()
    for state in ("sent", "retry", "failed", "skipped"):
        count = sum(o.state == state for o in outcomes)
        if count:
            click.echo(f"{count} {state}")
    click.echo(f"period {period.isoformat()}: {len(ids)} digest(s) to send")


@click.command()
@ON
@click.option("--to", "to", help="Only the digest for this e-mail address.")
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("var/preview"), show_default=True
)
@click.pass_context
def preview(ctx: click.Context, on: datetime | None, to: str | None, out: Path) -> None:
    """Write the .eml and .html of each digest that would go out; send and change nothing."""
    app = ready(app_from(ctx))
    period = on.date() if on else app.today()
    digests = would_send(app, period)
    chosen = [d for d in digests if to is None or d.email.lower() == to.lower()]
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for digest in chosen:
        write_preview(digest, out, app.settings, app.now())
    click.echo(f"{len(chosen)} digest(s) for {period.isoformat()} written to {out}")


def would_send(app: App, period: date) -> list[Digest]:
    """The digests planning would write for `period`, worked out inside a transaction that
    is always rolled back: no plan row, no ledger row, nothing swept is kept. Their links
    are preview links, which show the page but never act."""
    session = app.sessions()
    try:
        session.begin()
        return previewed_digests(session, app, period)
    finally:
        session.rollback()
        session.close()


def write_preview(digest: Digest, out: Path, settings: Settings, now: datetime) -> None:
    domain = settings.partnership_domain
    message = build_digest_message(
        digest,
        sender=settings.mail_from,
        message_id=f"<preview.{digest.period}@{domain}>",
        list_id=f"Partnership reminders <digests.{domain}>",
        sent_at=now,
    )
    stem = out / f"{digest.period}-{digest.email.replace('@', '_at_')}"
    private_write(stem.with_suffix(".eml"), message.as_bytes())
    html = message.get_body(("html",))
    if html is not None:
        private_write(stem.with_suffix(".html"), html.get_content().encode("utf-8"))


def private_write(path: Path, data: bytes) -> None:
    """Write `path` readable by this user only: previews hold names and duties."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(handle, 0o600)  # an older preview of the same name may have had other modes
    with os.fdopen(handle, "wb") as file:
        file.write(data)


@click.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only periods on or after.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for a spreadsheet.")
@click.pass_context
def deliveries(ctx: click.Context, since: datetime | None, as_csv: bool) -> None:
    """Who was sent what, at which stage, when, with the Message-ID and the outcome."""
    app = ready(app_from(ctx))
    query = select(Delivery).order_by(Delivery.period, Delivery.recipient)
    if since:
        query = query.where(Delivery.period >= since.date())
    with app.sessions() as session:
        rows = [delivery_row(r) for r in session.scalars(query)]
    header = ["period", "recipient", "subject", "top_stage", "state", "attempts", "sent_at",
              "message_id", "error"]  # fmt: skip
    show_report("deliveries", header, rows, as_csv)


def delivery_row(row: Delivery) -> list[str]:
    sent = row.sent_at.isoformat(timespec="seconds") if row.sent_at else ""
    return [
        row.period.isoformat(), row.recipient, row.subject, str(row.top_stage), row.state.value,
        str(row.attempts), sent, row.message_id or "", row.last_error or "",
    ]  # fmt: skip


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=None,
              help="Digests sent at once (threads; default: send_concurrency, 8).")  # fmt: skip
@click.option("--web/--no-web", default=True, show_default=True,
              help="Also serve the calendar feeds and the digest link pages.")  # fmt: skip
@HOST
@PORT
@click.pass_context
def start(ctx: click.Context, concurrency: int | None, web: bool, host: str, port: int) -> None:
    """Run the worker with its beat, and the web server. On an empty database, load the
    sample documents first and, when mail goes to the outbox, write the latest working
    day's digests right away."""
    app = app_from(ctx)
    follow_the_port(app, port)
    app.initialise()
    check_signing_key(app)  # made once here, before two processes might race to make it
    if first_start(app) and app.settings.smtp is None:
        demonstrate(app)
    app.close()
    if concurrency is not None:  # the setting, so that the worker's database pool matches
        os.environ["REMINDERS_SEND_CONCURRENCY"] = str(concurrency)
    celery = [sys.executable, "-m", "celery", "-A", "worker.celery_app"]
    # The beat in a process of its own, which the supervisor starts again should it end.
    commands = [[*celery, "worker", "--loglevel", "INFO"], [*celery, "beat", "--loglevel", "INFO"]]
    if web:
        commands.append(
            [sys.executable, "-m", "worker.cli", "serve", "--host", host, "--port", str(port)]
        )
        click.echo(f"feeds and link pages on http://{host}:{port}/ (public address: "
                   f"{app.settings.public_base_url})")  # fmt: skip
    sys.exit(run_together(commands))


def follow_the_port(app: App, port: int) -> None:
    """A public address on this machine (the default, http://localhost:8000) names the port
    chosen, in this process and in the ones it starts; any other is the operator's own."""
    parts = urlsplit(app.settings.public_base_url)
    if parts.hostname not in ("localhost", "127.0.0.1") or parts.port == port:
        return
    public = urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, "", ""))
    os.environ["REMINDERS_PUBLIC_BASE_URL"] = public
    app.settings = app.settings.model_copy(update={"public_base_url": public})


def first_start(app: App) -> bool:
    """Import the sample documents into an empty database; True if it was empty."""
    with app.sessions() as session:
        if session.scalar(select(Plan.id).limit(1)) is not None:
            return False
    samples = sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix in {".txt", ".csv"})
    options, kept = app.import_options(), app.settings.imports_dir  # downloads, backups
    import_files(samples, app.sessions, options, app.now(), "first start", originals=kept)
    app.publish_feeds()
    click.echo(f"imported the {len(samples)} sample documents in {EXAMPLES_DIR}")
    return True


def demonstrate(app: App) -> None:
    """Nothing leaves the machine: show a newcomer real digests without waiting for Monday."""
    period = latest_period(app.now(), app.rules(), app.timezone)
    plan_once(app, app.rules(), period, app.partnership_label())
    transport = transport_for(app.settings)
    with app.sessions() as session:
        ids = list(session.scalars(select(Delivery.id).where(Delivery.period == period)))
    for delivery_id in ids:
        deliver(app.sessions, transport, app.settings, delivery_id, app.now())
    click.echo(f"{len(ids)} digests for {period.isoformat()} written to {app.settings.outbox_dir}")
