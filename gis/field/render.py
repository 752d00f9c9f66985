"""The field pages from their Jinja templates (autoescaped; no inline scripts: the pages'
behaviour lives in ``/maps/static/wangge-field.js``, their data in JSON blocks)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import Connection, text

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json_data"] = json_data
    return env


def json_data(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` as it is (``<``, ``>`` and
    ``&`` escaped in JSON, so nothing can close the element or start markup)."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render(name: str, **context: Any) -> str:
    """The page ``name`` (a template file) with ``context``."""
    return _env().get_template(name).render(**context)


def outline(conn: Connection, code: str | None) -> dict[str, Any] | None:
    """The area ``code``'s current boundary, simplified to about a metre (GeoJSON), for a
    phone map; None for an unscoped key or an unknown code."""
    if code is None:
        return None
    raw = conn.execute(
        text(
            "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001), 6) FROM areas "
            "WHERE code = :c ORDER BY upper(valid) DESC NULLS FIRST LIMIT 1"
        ),
        {"c": code},
    ).scalar_one_or_none()
    return json.loads(raw) if raw else None
