"""The only place Jinja environments are built: one for HTML, one for plain text.

Both are strict (a missing variable is an error, never an empty string in someone's e-mail) and
load from `templates/`. Autoescaping is on for HTML only: the text environment must show what
people typed, verbatim, and nothing it renders is ever read as markup.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from worker.paths import TEMPLATES_DIR

# Month names spelled out here so that dates read the same whatever the server's locale is.
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def long_date(day: str | date) -> str:
    """ "2017-06-01" (or that date) as "1 June 2017", the way the partnership's documents
    write dates."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def long_day(day: date) -> str:
    """`day` with its weekday, as the MI sheets list sessions: "Monday 20 February 2017"."""
    return f"{_WEEKDAYS[day.weekday()]} {long_date(day)}"


def _environment(*, autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,  # noqa: S701 - off only for plain text, never read as HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["long_date"] = long_date
    return environment


@cache
def html_environment() -> Environment:
    """The environment for HTML templates: every value is escaped unless marked safe."""
    return _environment(autoescape=True)


@cache
def text_environment() -> Environment:
    """The environment for subjects and plain-text bodies: values appear exactly as given."""
    return _environment(autoescape=False)


def render_html(name: str, **context: object) -> str:
    """Render the HTML template `name` (a path under templates/)."""
    return html_environment().get_template(name).render(**context)


def render_html_part(name: str, **context: object) -> Markup:
    """Render the HTML template `name` as a part to put in a page as it is: every value in
    it was escaped as it was rendered."""
    return Markup(render_html(name, **context))  # noqa: S704 - escaped by its own rendering


def render_text(name: str, **context: object) -> str:
    """Render the plain-text template `name` (a path under templates/)."""
    return text_environment().get_template(name).render(**context)
