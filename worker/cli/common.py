"""What every command shares: the application context and the console."""

from __future__ import annotations

import click
from rich.console import Console

from worker.app import App, NotInitialisedError
from worker.settings import ConfigError

console = Console(soft_wrap=True)


def app_from(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    if app is None:
        raise click.ClickException("no application context")
    return app


def ready(app: App) -> App:
    """The app with its schema at the latest revision and the directory loaded."""
    try:
        app.check_schema()
        app.sync_directory()
    except (NotInitialisedError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    return app
