"""The maps index page: links to every page with each basemap."""

from __future__ import annotations

from html import escape

from gis.maps.basemaps import BASEMAPS

PAGES = (
    ("overview", "Overview 总览", "the hierarchy, buildings, search"),
    ("heat", "Heat 热力", "incidents as heat and H3 hexagons with hotspots"),
    ("coverage", "Coverage 覆盖", "coverage findings by severity"),
)


def index_html(
    *, grid_codes: list[str], notes: list[str], hide: frozenset[str] = frozenset()
) -> str:
    """A small HTML page linking the map pages (a few micro-grids as examples); the pages
    in ``hide`` (the caller's role cannot open them) are not linked."""
    rows = []
    if "work" not in hide:
        rows.append('<li><a href="work"><b>我的工作 My work</b></a> — 我的待办事件</li>')
    for slug, title, what in PAGES:
        if slug in hide:
            continue
        links = " · ".join(f'<a href="{slug}?basemap={b}">{b}</a>' for b in BASEMAPS)
        rows.append(
            f'<li><a href="{slug}"><b>{escape(title)}</b></a> — {escape(what)} '
            f"<small>(basemap: {links})</small></li>"
        )
    grids = "".join(
        f'<li><a href="grid/{escape(c, quote=True)}">{escape(c)}</a></li>' for c in grid_codes
    )
    missing = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>wangge maps</title><link rel='icon' href='data:,'>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:1.5em;max-width:44em}</style>"
        "</head><body><h1>wangge maps 网格地图</h1>"
        f"<ul>{''.join(rows)}</ul>"
        "<h2>My grid 我的微网格</h2><p>One micro-grid for a phone: "
        "<code>/maps/grid/{code}</code>; incidents: <code>/maps/incident/{id}</code>.</p>"
        f"<ul>{grids}</ul>"
        + (f"<h2>Not available yet</h2><ul>{missing}</ul>" if missing else "")
        + "<p><a href='/docs'>API docs</a> · <a href='/v1/heatmap?res=9'>/v1/heatmap</a></p>"
        "</body></html>"
    )
