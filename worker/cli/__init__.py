"""The `reminders` command: what the business manager and the operators type."""

from __future__ import annotations

import click

from worker.app import App
from worker.cli import (
    backups,
    digests,
    escalation,
    mail,
    people,
    recommendations,
    records,
    reports,
    retention,
    status,
    versions,
    web,
)
from worker.paths import private_files
from worker.yaml_files import ConfigError


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Reminders and escalation for a safeguarding partnership."""
    private_files()
    try:
        ctx.obj = App()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.call_on_close(ctx.obj.close)


for command in (
    records.init,
    records.import_command,
    records.list_command,
    records.config,
    escalation.rules,
    versions.directory_group,
    escalation.escalation,
    escalation.ack,
    escalation.complete,
    escalation.retarget,
    escalation.note,
    escalation.reopen,
    escalation.reassign,
    escalation.escalate,
    escalation.met,
    escalation.report,
    recommendations.recommendations,
    digests.send,
    digests.preview,
    digests.start,
    status.status,
    web.serve,
    web.feeds,
    web.console_group,
    backups.backup_group,
    mail.mail_group,
    people.person_group,
    retention.retention_group,
):
    main.add_command(command)

escalation.report.add_command(digests.deliveries)
escalation.report.add_command(reports.cap)
versions.install(escalation.rules)
