"""The dashboard's HTML and the offline API docs' HTML, from Jinja templates; no inline
script (a Content-Security-Policy will forbid them): the page's JavaScript is a static file
that reads its data from ``/v1/dashboard``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gis.dashboard.figures import HEADLINE, PERIOD_NAMES, View
from gis.labels import SOURCE_NAMES
from gis.security.roles import Principal

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def nav_links(role: str) -> list[tuple[str, str]]:
    """The links a page's header offers, only those ``role`` may open."""
    who = Principal(key_id=None, name="", role=role)
    links = []
    if who.can("stats"):
        links.append(("/dashboard", "数据看板"))
    if who.can("maps"):
        links.append(("/maps/", "地图"))
        links.append(("/maps/overview", "总览"))
        if who.can("incidents:read"):
            links.append(("/maps/heat", "热力"))
    if who.can("coverage"):
        links.append(("/maps/coverage", "覆盖检查"))
    return links


def dashboard_page(view: View, *, role: str, static_url: str, csrf: str = "") -> str:
    """The dashboard page for ``view`` (its figures are fetched by ``dashboard.js``);
    ``csrf``: the session's anti-CSRF token for signing out ("" for a key in a header)."""
    return (
        _env()
        .get_template("dashboard.html")
        .render(
            view=view,
            csrf=csrf,
            static=static_url,
            nav=nav_links(role),
            headline=HEADLINE,
            periods=PERIOD_NAMES,
            sources=SOURCE_NAMES,
        )
    )


def docs_page(kind: str, *, static_url: str) -> str:
    """Swagger UI (``swagger``) or ReDoc (``redoc``) on ``/openapi.json``, assets local."""
    return _env().get_template("docs.html").render(kind=kind, static=static_url)
