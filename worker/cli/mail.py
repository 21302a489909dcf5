"""`reminders mail`: what the sending domain publishes for this service's mail."""

from __future__ import annotations

from pathlib import Path

import click

from worker.app import App
from worker.delivery.bounces import read_bounces
from worker.mail.dkim import DkimKeyError, dns_records


@click.group("mail")
def mail_group() -> None:
    """The mail the service sends: its domain's DNS records, and late bounces."""


@mail_group.command("dns")
@click.option("--mx", "mx_hosts", multiple=True, metavar="HOST",
              help="An MX host of the domain (each): for the MTA-STS policy.")  # fmt: skip
@click.option("--enforce", is_flag=True,
              help="MTA-STS in enforce mode, after a time in testing mode.")  # fmt: skip
@click.pass_obj
def dns(app: App, mx_hosts: tuple[str, ...], enforce: bool) -> None:
    """Print the SPF, DKIM, DMARC, TLS-RPT and MTA-STS records for the sending domain
    (settings' dkim: domain, selector, key_file)."""
    try:
        records = dns_records(app.settings, mx_hosts, enforce)
    except DkimKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    for record in records:
        click.echo(f"; {record.why}")
        if record.kind == "file":
            click.echo(f"; {record.name}:")
            click.echo("\n".join(f";   {line}" for line in record.value.splitlines()))
        elif record.kind == "TXT":
            click.echo(f"{record.name}. IN TXT {quoted(record.value)}")
        click.echo()


def quoted(value: str) -> str:
    """A TXT record's value as a zone file has it: strings of at most 255 characters."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


@mail_group.command("bounces")
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path),
              help="The bounce mailbox (default: settings' bounce_maildir).")  # fmt: skip
@click.pass_obj
def bounces(app: App, maildir: Path | None) -> None:
    """Read the delivery reports in the bounce mailbox: each address that bounced is marked
    undeliverable (its digests held until `directory correct`), as a relay's refusal is."""
    folder = maildir or app.settings.bounce_maildir
    if folder is None:
        raise click.ClickException("give --maildir, or set bounce_maildir in settings")
    if not (folder / "cur").is_dir():
        raise click.ClickException(f"{folder}: not a maildir (no cur/ folder)")
    read = read_bounces(app.sessions, folder)
    click.echo(f"{read.reports} delivery report(s) read; {read.others} other message(s) left "
               "unread and flagged for people.")  # fmt: skip
    for address in read.marked:
        click.echo(f"Marked undeliverable: {address} (its digests are held; correct it with "
                   "`reminders directory correct`).")  # fmt: skip
    if read.unknown:
        click.echo(f"{read.unknown} failure(s) of messages that are not digests: not recorded.")
