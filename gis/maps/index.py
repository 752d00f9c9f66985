"""The maps index page: links to the pages the role may open, and every micro-grid of the
scope by name under its community and grid, with a search box (``wangge-index.js``)."""

from __future__ import annotations

from html import escape
from typing import Any

from gis.maps.basemaps import BASEMAPS

PAGES = (
    ("overview", "总览 Overview", "层级、楼栋、事件、搜索", "maps"),
    ("heat", "热力 Heat", "事件热力与 H3 六边形热点", "incidents:read"),
    ("coverage", "覆盖检查 Coverage", "覆盖缺口、重叠、未覆盖楼栋", "coverage"),
)
BASEMAP_NAMES = {"osm": "OpenStreetMap", "tianditu": "天地图", "gcj02": "高德风格 (GCJ-02)"}


def index_html(
    *,
    grids: list[dict[str, Any]],
    notes: list[str],
    hide: frozenset[str] = frozenset(),
    static_url: str | None = "/maps/static",
) -> str:
    """The index page; ``grids``: every micro-grid (``code``, ``name``, ``grid``,
    ``community``: names) in order; the pages in ``hide`` (the caller's role cannot open
    them) are not linked."""
    rows = []
    if "work" not in hide:
        rows.append('<li><a href="work"><b>我的工作 My work</b></a> — 我的待办事件</li>')
    for slug, title, what, _permission in PAGES:
        if slug in hide:
            continue
        links = " · ".join(
            f'<a href="{slug}?basemap={b}">{escape(BASEMAP_NAMES.get(b, b))}</a>' for b in BASEMAPS
        )
        rows.append(
            f'<li><a href="{slug}"><b>{escape(title)}</b></a> — {escape(what)} '
            f"<small>（底图：{links}）</small></li>"
        )
    items = []
    for g in grids:
        where = " · ".join(escape(x) for x in (g.get("community"), g.get("grid")) if x)
        text = " ".join(x for x in (g["name"], g.get("grid"), g.get("community")) if x)
        items.append(
            f'<li data-text="{escape(text, quote=True)}">'
            f'<a href="grid/{escape(g["code"], quote=True)}">{escape(g["name"] or "未命名微网格")}'
            f"</a> <small>{where}</small></li>"
        )
    missing = "".join(f"<li>{escape(n)}</li>" for n in notes)
    top = []
    if "dashboard" not in hide:
        top.append('<a href="/dashboard">数据看板</a>')
    top.append('<a href="/docs">API 文档</a>')
    script = f'<script src="{static_url}/wangge-index.js"></script>' if static_url else ""
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>wangge 网格地图</title><link rel='icon' href='data:,'>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:1.5em;max-width:44em}"
        "#grids{columns:2;padding-left:1.2em}#grids small{color:#777}"
        "header{display:flex;justify-content:space-between;align-items:center}"
        "header a{margin-right:1em}</style>"
        "</head><body><header><h1>wangge 网格地图</h1><nav>"
        + " ".join(top)
        + "<form method='post' action='/signout' style='display:inline'>"
        "<button type='submit'>退出登录</button></form></nav></header>"
        f"<ul>{''.join(rows)}</ul>"
        f"<h2>微网格（{len(grids)}）</h2>"
        "<p><label>搜索 <input id='grid-search' type='search' placeholder='名称、网格或社区'>"
        "</label> <span id='grid-count'></span></p>"
        f"<ul id='grids'>{''.join(items)}</ul>"
        + (f"<h2>暂不可用</h2><ul>{missing}</ul>" if missing else "")
        + script
        + "</body></html>"
    )
