"""Commands for the web side: serve the feeds, pages and console; agency feed tokens; sign-in
links for the console."""

from __future__ import annotations

import copy
import socket
from datetime import datetime, timedelta
from typing import Any

import click
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from worker.app import App
from worker.cli.common import app_from, console, plain_table, ready
from worker.console.people import person_of
from worker.db import transaction
from worker.directory.entries import find_agency
from worker.feeds.agency import feed_of, feed_path, issue_token, shown_token
from worker.feeds.public import webcal
from worker.mail.links import SigningKeyError, signing_key
from worker.models import Agency, AgencyFeed
from worker.settings import Settings
from worker.signin.links import link_url, new_link

HOST = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
PORT = click.option("--port", default=8000, show_default=True, help="Port to listen on.")


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus our access log (tokens shown as ***) on standard error."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["reminders.web"] = {"handlers": ["default"], "level": "INFO"}
    config["loggers"]["reminders.web"]["propagate"] = False
    return config


def check_signing_key(app: App) -> None:
    """Make (or read) the link-signing key now: a problem stops the start, not a reader."""
    key_of(app)


@click.command()
@HOST
@PORT
@click.option("--workers", default=1, show_default=True, help="Server processes.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the calendar feeds and the pages behind the digest links (uvicorn)."""
    app = ready(app_from(ctx))
    check_signing_key(app)
    app.close()
    run_server("worker.web:from_settings", host, port, workers, app.settings)


def run_server(factory: str, host: str, port: int, workers: int, settings: Settings) -> None:
    """uvicorn on the app that `factory` ("module:function") makes, in `workers` processes."""
    config = server_config(factory, host, port, workers, settings)
    server, sockets = server_of(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=sockets).run()
            return
        server.run(sockets=sockets)
    except KeyboardInterrupt:  # Ctrl-C: uvicorn has stopped; nothing more to say
        return
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def server_config(
    factory: str, host: str, port: int, workers: int, settings: Settings
) -> uvicorn.Config:
    return uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # uvicorn's access log would write agency tokens and link tokens: ours hides them.
        access_log=False,
        log_config=log_config(),
        server_header=False,
        # The client address (rate limits, the record of who acted) is the proxy's unless
        # X-Forwarded-For is believed from it: only from the proxies named in the settings.
        proxy_headers=bool(settings.forwarded_allow_ips.strip()),
        forwarded_allow_ips=settings.forwarded_allow_ips.strip() or None,
    )


def server_of(config: uvicorn.Config) -> tuple[uvicorn.Server, list[socket.socket]]:
    """The server and the sockets it (or each of its processes) accepts connections on."""
    return uvicorn.Server(config), [listening_socket(config)]


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The listening socket every server process accepts on, marked as TCP.

    A socket bound with the protocol left at 0 hands that to the connections it accepts;
    asyncio then never sets TCP_NODELAY on them, and every keep-alive request after the
    first waits about 40 ms for the client's delayed ACK (some uvicorn releases bind it so).
    The same descriptor wrapped again with IPPROTO_TCP gets TCP_NODELAY on every connection,
    whichever uvicorn binds it.
    """
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


@click.group()
def feeds() -> None:
    """The private deadline calendars of the agencies."""


def agency_named(session: Session, name: str) -> Agency:
    agency = find_agency(session, name)
    if agency is None:
        raise click.ClickException(f"no agency called {name!r} in the directory")
    return agency


def show_urls(app: App, agency: str, token: str, verb: str) -> None:
    url = app.settings.public_base_url.rstrip("/") + feed_path(token)
    click.echo(f"{verb} the deadline calendar of {agency}. Its address, shown only now:")
    click.echo(f"  {url}")
    click.echo(f"  {webcal(url)}")
    click.echo("Keep it private: anyone with it can read the agency's deadlines.")


@feeds.command("rotate")
@click.argument("agency")
@click.pass_context
def rotate(ctx: click.Context, agency: str) -> None:
    """Give AGENCY a new feed address; the old one stops working at once."""
    app = ready(app_from(ctx))
    with transaction(app.sessions) as session:
        found = agency_named(session, agency)
        token, name = issue_token(session, found, app.now(), key_of(app)), found.name
    show_urls(app, name, token, "Made a new address for")


@feeds.command("url")
@click.argument("agency")
@click.pass_context
def url(ctx: click.Context, agency: str) -> None:
    """Print AGENCY's feed address (https:// and webcal://), making it on first use."""
    app = ready(app_from(ctx))
    key = key_of(app)
    with transaction(app.sessions) as session:
        found = agency_named(session, agency)
        existing, name = feed_of(session, found), found.name
        if existing is None:
            token: str | None = issue_token(session, found, app.now(), key)
        else:
            token = shown_token(existing, key)
        made = existing.created_at if existing else None
    if token is not None:
        show_urls(app, name, token, "Address of" if existing else "Made")
        return
    raise click.ClickException(
        f"{name}'s feed address was made (at {stamp(made)}) before addresses could be shown "
        f"again: only a fingerprint of it is kept. To give out a new one (the old one stops "
        f"working): reminders feeds rotate {name!r}"
    )


def key_of(app: App) -> bytes:
    try:
        return signing_key(app.settings)
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from exc


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "earlier"


@feeds.command("list")
@click.pass_context
def list_feeds(ctx: click.Context) -> None:
    """Which agencies have a deadline calendar, and since when."""
    app = ready(app_from(ctx))
    with app.sessions() as session:
        made = {f.agency_id: f.created_at for f in session.scalars(select(AgencyFeed))}
        agencies = list(session.scalars(select(Agency).order_by(Agency.name)))
    title = f"{len(made)} of {len(agencies)} agencies have a deadline calendar"
    rows = [[a.name, stamp(made[a.id]) if a.id in made else "—"] for a in agencies]
    console.print(plain_table(title, ["Agency", "Address made"], rows))


@click.group("console")
def console_group() -> None:
    """The partnership console (served by `reminders serve` at /console/)."""


@console_group.command("sign-in-link")
@click.argument("email")
@click.pass_context
def sign_in_link(ctx: click.Context, email: str) -> None:
    """Print a one-time sign-in link for EMAIL, someone in the directory (no mail needed)."""
    app = ready(app_from(ctx))
    person = person_of(app.directory(), email, app.today())
    if person is None:
        raise click.ClickException(f"{email} is not in the directory, so cannot sign in")
    if person.needs_organisation(app.settings.organisation_sign_in_for):
        raise click.ClickException(
            f"{person.name} signs in only with their organisation (organisation_sign_in_for), "
            "so a link would be refused"
        )
    minutes = app.settings.sign_in_valid_minutes
    with transaction(app.sessions) as session:
        token = new_link(session, person.email, app.now(), timedelta(minutes=minutes))
    click.echo(f"A sign-in link for {person.name} ({', '.join(person.roles)}),")
    click.echo(f"working once, for {minutes} minutes:")
    click.echo(f"  {link_url(app.settings, token)}")
