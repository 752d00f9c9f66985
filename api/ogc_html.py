"""HTML views of the OGC API – Features resources, for a person in a browser.

Self-contained pages (no scripts, no external assets, so they work offline and inside
closed government networks): links as lists, features as a table and an SVG sketch of
their geometry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;
color:#222}
nav{font-size:.9rem;margin-bottom:1rem}nav a{color:#555}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}
svg{border:1px solid #ccc;background:#fbfbf8;margin:.5rem 0}
svg path{fill:#3b82f633;stroke:#1d4ed8;stroke-width:1;vector-effect:non-scaling-stroke}
svg circle{fill:#dc2626}code{background:#f3f3f3;padding:0 .2rem}
"""


def page(title: str, crumbs: list[tuple[str, str]], body: str) -> str:
    """A whole HTML document: ``crumbs`` are (href, label) pairs shown above the title."""
    nav = " › ".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in crumbs)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no favicon request
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><nav>{nav}</nav><h1>{escape(title)}</h1>{body}</body></html>"
    )


def link_list(links: Iterable[dict[str, Any]]) -> str:
    """A list of links with their relation and media type."""
    items = "".join(
        f'<li><a href="{escape(link["href"])}" rel="{escape(link["rel"])}">'
        f"{escape(link.get('title') or link['href'])}</a> <small>({escape(link['rel'])}"
        f"{', ' + escape(link['type']) if link.get('type') else ''})</small></li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    """A table; cells are already-escaped HTML."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cell(value: Any) -> str:
    """A property value as escaped text (objects as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False))}</code>"
    return escape(str(value))


def _rings(geometry: dict[str, Any] | None) -> Iterator[tuple[str, list[list[float]]]]:
    """("ring"|"point", coordinates) for every ring and point of a geometry."""
    if not geometry:
        return
    kind: Any = geometry.get("type")
    coords: Any = geometry.get("coordinates")
    if kind == "Point":
        yield "point", [coords]
    elif kind == "MultiPoint":
        yield "point", coords
    elif kind == "Polygon":
        for ring in coords:
            yield "ring", ring
    elif kind == "MultiPolygon":
        for polygon in coords:
            for ring in polygon:
                yield "ring", ring
    elif kind == "LineString":
        yield "line", coords
    elif kind == "MultiLineString":
        for line in coords:
            yield "line", line


def sketch(features: list[dict[str, Any]], *, width: int = 640, height: int = 420) -> str:
    """An SVG drawing of the features' geometries (north up; lon/lat scaled by cos(lat))."""
    parts = [(k, c) for f in features for k, c in _rings(f.get("geometry"))]
    xs = [p[0] for _, coords in parts for p in coords]
    ys = [p[1] for _, coords in parts for p in coords]
    if not xs:
        return "<p>No geometry to draw.</p>"
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    aspect = math.cos(math.radians((y0 + y1) / 2)) if abs(y1) <= 90 else 1.0
    span_x, span_y = max((x1 - x0) * aspect, 1e-9), max(y1 - y0, 1e-9)
    scale = min(width / span_x, height / span_y) * 0.95

    def px(p: list[float]) -> tuple[float, float]:
        return (p[0] - x0) * aspect * scale, (y1 - p[1]) * scale

    def xy(p: list[float]) -> str:
        x, y = px(p)
        return f"{x:.1f},{y:.1f}"

    shapes: list[str] = []
    for kind, coords in parts:
        if kind == "point":
            shapes.extend('<circle cx="{:.1f}" cy="{:.1f}" r="3"/>'.format(*px(p)) for p in coords)
        else:
            closing = "Z" if kind == "ring" else ""
            shapes.append(f'<path d="M{" L".join(xy(p) for p in coords)}{closing}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="sketch of the features">{"".join(shapes)}</svg>'
    )
