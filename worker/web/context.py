"""What every request handler needs: the application, the feeds' site, the link signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from worker.app import App
from worker.console.items import Choices
from worker.console.kept import Keeper
from worker.console.overview import Overview
from worker.feeds.public import Site
from worker.mail.links import Links
from worker.signin.oidc import Organisations
from worker.templating import render_html
from worker.web.assets import stylesheet_url
from worker.web.http import security_headers


@dataclass
class Web:
    app: App
    # What this process worked out last: the overview's figures and chart (SVG), and the
    # filters' choices for those who see every item.
    overview: Keeper[tuple[Overview, str]] = field(default_factory=Keeper)
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


def web_of(request: Request) -> Web:
    return cast(Web, request.app.state.web)


def page(template: str, status: int = 200, **context: object) -> HTMLResponse:
    """An HTML page from templates/web/, never cached (link pages show live state)."""
    html = render_html(f"web/{template}", stylesheet=stylesheet_url(), **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    # Also set here, not only by the middleware: the 500 page is sent from outside it.
    response.headers.update(security_headers(template.startswith("console/")))
    return response


def problem(status: int, title: str, message: str, hint: str = "") -> HTMLResponse:
    """A clear page for anything that went wrong: what happened and what to do instead."""
    return page("problem.html", status, title=title, message=message, hint=hint)
