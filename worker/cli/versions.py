"""`reminders rules …` and `reminders directory …`: versions of each, kept in the database.

load FILE     check the file and save it as the next version (in force at the next tick)
export        write the version in force as YAML, comments and all
versions      every version: number, when, who, why
rollback N    save version N's text again as the newest version
directory replace LEAVING SUCCESSOR   someone leaves: their roles to their successor
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from worker.app import App
from worker.cli.common import app_from, console, plain_table, ready
from worker.config.changes import correct_address, cover, hand_over
from worker.config.versions import (
    DIRECTORY,
    FILES,
    RULES,
    Author,
    history,
    newest,
    roll_back,
    save,
    text_in_force,
    warnings_in_force,
)
from worker.db import transaction
from worker.directory.recipients import Person
from worker.directory.schools import SchoolChanges, SchoolsError, apply, compare, read_schools
from worker.models import ConfigVersion
from worker.yaml_files import ConfigError

BY = click.option("--by", required=True, help="Who makes this version (e-mail address).")
REASON = click.option("--reason", required=True, help="Why (kept with the version).")


def saving(app: App, make: Callable[[Session], ConfigVersion], what: str = "") -> None:
    """Make a version with `make` in one transaction; say which was saved and what may be a
    mistake in it, or why nothing was (`what`: the file, to name it)."""
    try:
        with transaction(app.sessions) as session:
            row = make(session)
            kind, number = row.kind, row.number
            warnings = warnings_in_force(session, app.settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(f"{what}nothing saved.\n{exc}") from exc
    app.follow_change()
    click.echo(f"Saved {kind} version {number}; in force from the next tick or request.")
    for warning in warnings:
        click.echo(f"warning: {warning}")


def add_version_commands(group: click.Group, kind: str) -> None:
    """The four commands, for `kind`, on `group`."""

    @group.command("load")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @BY
    @REASON
    @click.pass_context
    def load(ctx: click.Context, file: Path, by: str, reason: str) -> None:
        """Check FILE and save it as the next version, in force from the next tick."""
        app = ready(app_from(ctx))
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{file}: nothing saved: not UTF-8 text ({exc})") from exc
        author, folder = Author(by, reason), app.settings.config_dir
        saving(app, lambda session: save(session, kind, text, author, folder), f"{file}: ")

    @group.command("export")
    @click.option(
        "--to",
        "target",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Write to this file (default: standard output), e.g. {FILES[kind]}.",
    )
    @click.pass_context
    def export(ctx: click.Context, target: Path | None) -> None:
        """Write the version in force as YAML, as it was given (comments and all)."""
        app = ready(app_from(ctx))
        with app.sessions() as session:
            row = newest(session, kind)
            if row is None:
                raise click.ClickException(f"no {kind} version yet: run `reminders init`")
            text, number = row.content, row.number
        if target is None:
            click.echo(text, nl=False)
            return
        target.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {kind} version {number} to {target}", err=True)

    @group.command("versions")
    @click.pass_context
    def versions(ctx: click.Context) -> None:
        """Every version, newest first: when, who, why, from where."""
        app = ready(app_from(ctx))
        with app.sessions() as session:
            rows = [[str(r.number) + (" (in force)" if i == 0 else ""),
                     r.created_at.strftime("%Y-%m-%d %H:%M UTC"), r.made_by, r.client or "",
                     r.reason] for i, r in enumerate(history(session, kind))]  # fmt: skip
        headings = ["Version", "Made", "By", "From", "Why"]
        console.print(plain_table(f"{len(rows)} versions of the {kind}", headings, rows))

    @group.command("rollback")
    @click.argument("number", type=int)
    @BY
    @REASON
    @click.pass_context
    def rollback(ctx: click.Context, number: int, by: str, reason: str) -> None:
        """Put version NUMBER back in force, as a new version (checked as any other)."""
        app = ready(app_from(ctx))
        author, folder = Author(by, reason), app.settings.config_dir
        saving(app, lambda session: roll_back(session, kind, number, author, folder))


@click.group("directory")
def directory_group() -> None:
    """The partnership's directory: its versions (load, export, versions, rollback), someone
    leaving (replace), someone away (cover), an address corrected (correct)."""


@directory_group.command("correct")
@click.argument("address")
@click.argument("corrected")
@BY
@REASON
@click.pass_context
def correct(ctx: click.Context, address: str, corrected: str, by: str, reason: str) -> None:
    """ADDRESS, refused for good by the relay, is CORRECTED (or ADDRESS itself, once its
    mailbox is mended): the directory follows, and the digests held for it go to CORRECTED
    at the next push."""
    app = ready(app_from(ctx))
    author, folder = Author(by, reason), app.settings.config_dir
    try:
        with transaction(app.sessions) as session:
            made, released = correct_address(session, address, corrected, author, folder,
                                             app.now())  # fmt: skip
            number = made.number if made else None
    except ConfigError as exc:
        raise click.ClickException(f"nothing changed.\n{exc}") from exc
    app.follow_change()
    if number is not None:
        click.echo(f"Saved directory version {number}: {corrected} in place of {address}.")
    click.echo(f"{released.sent_again} digest(s) held for {address} go to {corrected} at the "
               "next push.")  # fmt: skip
    if released.clashing:
        click.echo(f"{released.clashing} not sent: {corrected} had its own digest that period.")


@directory_group.command("cover")
@click.argument("away")
@click.argument("delegate")
@click.option("--name", required=True, help="The delegate's name.")
@click.option("--from", "starts", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "ends", required=True, type=click.DateTime(["%Y-%m-%d"]))
@BY
@REASON
@click.pass_context
def cover_command(ctx: click.Context, away: str, delegate: str, name: str, starts: datetime,
                  ends: datetime, by: str, reason: str) -> None:  # fmt: skip
    """AWAY is away: from --from to --to (included) DELEGATE receives their digests and may
    act for them in the console."""
    app = ready(app_from(ctx))
    author, folder = Author(by, reason), app.settings.config_dir
    covering = Person(name, delegate)
    saving(app, lambda session: cover(session, away, covering, starts.date(), ends.date(),
                                      author, folder))  # fmt: skip


@directory_group.command("schools")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dsl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A second CSV: URN, DSL name, DSL email (and Groups).",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    default=["schools"],
    show_default=True,
    help="The group(s) a new school joins when the list gives none.",
)
@click.option("--apply", "to_apply", is_flag=True, help="Save the changes previewed.")
@click.option("--by", help="Who makes this version (with --apply).")
@click.option("--reason", help="Why (with --apply).")
@click.pass_context
def schools_command(ctx: click.Context, file: Path, dsl: Path | None, groups: tuple[str, ...],
                    to_apply: bool, by: str | None, reason: str | None) -> None:  # fmt: skip
    """Preview the schools in FILE (a GIAS extract or the authority's list) against the
    directory: added, renamed, changed, closed; with --apply, save exactly that."""
    app = ready(app_from(ctx))
    if to_apply and not (by and reason):
        raise click.UsageError("--apply needs --by and --reason")
    try:
        listed = read_schools(file, dsl, app.today())
    except SchoolsError as exc:
        raise click.ClickException(f"nothing changed.\n{exc}") from exc
    changes = compare(app.directory(), listed, app.today(), groups)
    for line in preview_lines(changes):
        click.echo(line)
    if not to_apply or changes.nothing:
        return
    folder, author = app.settings.config_dir, Author(by or "", reason or "")

    def make(session: Session) -> ConfigVersion:
        text, _ = text_in_force(session, DIRECTORY, folder)
        return save(session, DIRECTORY, apply(text, changes), author, folder)

    saving(app, make)


def preview_lines(changes: SchoolChanges) -> list[str]:
    lines = [f"added: {s.name} (URN {s.urn}), DSL {s.contact or ''} <{s.email}>, groups "
             f"{', '.join(s.groups or ())}" for s in changes.added]  # fmt: skip
    lines += [f"renamed: {old} -> {new} (URN {urn})" for urn, old, new in changes.renamed]
    lines += [f"changed: {name}: {key} {old or '(none)'} -> {new}"
              for name, key, old, new in changes.changed]  # fmt: skip
    lines += [f"closed: {name}: {why}" for name, _, why in changes.closed]
    lines += [f"reopened: {name}: open in the list again" for name in changes.reopened]
    counts = (f"{len(changes.added)} added, {len(changes.renamed)} renamed, "
              f"{len(changes.changed)} changed, {len(changes.closed)} closed, "
              f"{len(changes.reopened)} reopened, {changes.unchanged} unchanged")  # fmt: skip
    return [*lines, counts]


@directory_group.command("replace")
@click.argument("leaving")
@click.argument("successor")
@click.option("--name", required=True, help="The successor's name.")
@BY
@REASON
@click.pass_context
def replace(ctx: click.Context, leaving: str, successor: str, name: str, by: str,
            reason: str) -> None:  # fmt: skip
    """Someone leaves: every role LEAVING holds goes to SUCCESSOR in one new directory
    version; LEAVING's console sessions and sign-in links end."""
    app = ready(app_from(ctx))
    author, folder = Author(by, reason), app.settings.config_dir

    def make(session: Session) -> ConfigVersion:
        return hand_over(session, leaving, successor, name, author, folder, app.now())

    saving(app, make)
    click.echo(f"{successor} now holds every role {leaving} held; {leaving} is signed out.")


def install(rules: click.Group) -> None:
    add_version_commands(rules, RULES)
    add_version_commands(directory_group, DIRECTORY)
