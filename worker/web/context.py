"""What every request handler needs: the application, the feeds' site, the link signer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from worker.app import App
from worker.console.items import Choices
from worker.console.kept import Keeper
from worker.feeds.public import Site
from worker.mail.links import Links
from worker.signin.oidc import Organisations
from worker.templating import render_html
from worker.web.assets import stylesheet_url
from worker.web.http import SECURITY_HEADERS


@dataclass
class Web:
    app: App
    # What this process worked out last: the overview's figures, chart and lists (rendered),
    # and the filters' choices for those who see every item.
    overview: Keeper[Markup] = field(default_factory=Keeper)
    choices: Keeper[Choices] = field(default_factory=Keeper)

    def site(self) -> Site:
        return self.app.site()

    @cached_property
    def limiter(self) -> MovingWindowRateLimiter:
        """Counts sign-in requests per address and per client, in this process."""
        return MovingWindowRateLimiter(MemoryStorage())

    @cached_property
    def organisations(self) -> Organisations:
        """The organisation sign-ins' discovery documents and keys, kept by this process."""
        return Organisations(self.app.settings)

    @cached_property
    def links(self) -> Links:
        """Raises SigningKeyError when no key can be had (the pages say so, with a 503)."""
        return Links.from_settings(self.app.settings)


@contextmanager
def reading(app: App) -> Iterator[Session]:
    """A session for a page's reads. On PostgreSQL its statements run without BEGIN and
    COMMIT (autocommit), which takes two round trips off each page and changes nothing a
    page reads: at READ COMMITTED each statement sees the data as of its own start inside a
    transaction too. It also keeps the connection's prepared statements, which psycopg
    forgets at every ROLLBACK (one may have undone a change to the schema): pages whose
    reads ended with one had PostgreSQL plan each statement anew (2.3 ms for the items
    page's rows). On SQLite, one transaction."""
    with app.sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
            return
        with session.begin():
            yield session


def web_of(request: Request) -> Web:
    return cast(Web, request.app.state.web)


def page(template: str, status: int = 200, **context: object) -> HTMLResponse:
    """An HTML page from templates/web/, never cached (link pages show live state)."""
    html = render_html(f"web/{template}", stylesheet=stylesheet_url(), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    # Also set here, not only by the middleware: the 500 page is sent from outside it.
    response.headers.update(SECURITY_HEADERS)
    return response


def problem(status: int, title: str, message: str, hint: str = "") -> HTMLResponse:
    """A clear page for anything that went wrong: what happened and what to do instead."""
    return page("problem.html", status, title=title, message=message, hint=hint)
