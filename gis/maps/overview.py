"""The overview page: the hierarchy as toggleable layers, buildings, search, legend, scale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from gis.maps import data
from gis.maps.page import MapOptions, Page, js_json

#: Overlay style per level: line colour, weight, fill opacity; labels shown between zooms.
LEVEL_STYLES: dict[str, dict[str, Any]] = {
    "street": {"color": "#222222", "weight": 4, "fillOpacity": 0.0, "label": None},
    "community": {"color": "#1f78b4", "weight": 3, "fillOpacity": 0.04, "label": (14, 15)},
    "grid": {"color": "#33a02c", "weight": 2, "fillOpacity": 0.04, "label": (16, 16)},
    "micro_grid": {"color": "#ff7f00", "weight": 1, "fillOpacity": 0.06, "label": (17, 22)},
}
LEVEL_NAMES = {
    "street": "街道 street",
    "community": "居委 community",
    "grid": "网格 grid",
    "micro_grid": "微网格 micro-grid",
}
AREA_TIP = [
    ["name", ""],
    ["code", "code"],
    ["level", "level"],
    ["leader", "leader"],
    ["households", "households"],
    ["open_incidents", "open incidents"],
]
BUILDING_TIP = [
    ["name", ""],
    ["code", "code"],
    ["address", "address"],
    ["households", "households"],
    ["leader", "team leader"],
]
INCIDENT_TIP = [
    ["category", ""],
    ["status", "status"],
    ["due_at", "due"],
    ["reported_at", "reported"],
    ["description", "description"],
    ["id", "id"],
]
INCIDENT_OPTS: dict[str, Any] = {
    "style": {
        "color": "#b10026",
        "fillColor": "#fc4e2a",
        "fillOpacity": 0.9,
        "weight": 2,
        "radius": 6,
    },
    "tooltip": INCIDENT_TIP,
    "popup": INCIDENT_TIP,
}
BUILDING_STYLE = {"color": "#666666", "weight": 1, "fillColor": "#999999", "fillOpacity": 0.5}


def _tiles_allowed(opts: MapOptions, count: int) -> bool:
    # Tiles are served in WGS-84; on a GCJ-02 basemap only embedded (shifted) data lines up.
    return opts.tiles_url is not None and opts.basemap.datum == "wgs84" and count > opts.inline_max


def add_area_layer(
    page: Page,
    conn: Connection,
    scope: data.View,
    opts: MapOptions,
    level: str,
    *,
    show: bool = True,
    fit: bool = False,
) -> int:
    """Add one level's areas (inline or tiled); return its feature count."""
    style = LEVEL_STYLES[level]
    count = data.count_areas(conn, scope, level)
    js_opts: dict[str, Any] = {
        "style": {k: style[k] for k in ("color", "weight", "fillOpacity")},
        "tooltip": AREA_TIP,
        "popup": AREA_TIP,
        "show": show,
        "fit": fit,
    }
    name = LEVEL_NAMES[level]
    if _tiles_allowed(opts, count):
        url = (
            f"{opts.tiles_url}/areas/{{z}}/{{x}}/{{y}}.pbf?level={level}"
            f"&generation={opts.generation}"
        )
        page.tiles(name, url, "areas", count, js_opts)
        return count
    if style["label"]:
        js_opts["label"] = {
            "property": "name",
            "minZoom": style["label"][0],
            "maxZoom": style["label"][1],
        }
    js_opts["search"] = ["name", "code"]
    features = data.areas(conn, scope, opts.basemap, level=level)
    page.geojson(name, features, js_opts)
    return count


def add_buildings(
    page: Page,
    conn: Connection,
    scope: data.View,
    opts: MapOptions,
    *,
    color_by_leader: bool = False,
) -> int:
    """Add the buildings layer (inline or tiled); return its feature count."""
    count = data.count_buildings(conn, scope)
    js_opts: dict[str, Any] = {
        "style": BUILDING_STYLE,
        "tooltip": BUILDING_TIP,
        "popup": BUILDING_TIP,
    }
    if color_by_leader:
        js_opts["colorBy"] = {
            "property": "has_leader",
            "values": {"yes": "#1a9850", "no": "#d73027"},
        }
    if _tiles_allowed(opts, count):
        url = f"{opts.tiles_url}/buildings/{{z}}/{{x}}/{{y}}.pbf"
        page.tiles("楼 buildings", url, "buildings", count, js_opts)
        return count
    js_opts["search"] = ["name", "code", "address"]
    features = data.buildings(conn, scope, opts.basemap)
    page.geojson("楼 buildings", features, js_opts)
    return count


def add_incidents(page: Page, conn: Connection, scope: data.View, opts: MapOptions) -> int:
    """Add the open incidents (inline or tiled); return their count."""
    count = data.count_open_incidents(conn, scope)
    name = "事件 open incidents"
    if _tiles_allowed(opts, count):
        url = f"{opts.tiles_url}/incidents/{{z}}/{{x}}/{{y}}.pbf?status=open"
        page.tiles(name, url, "incidents", count, INCIDENT_OPTS)
        return count
    features = data.incidents(conn, scope, opts.basemap)
    page.geojson(name, features, INCIDENT_OPTS)
    return count


def overview_page(conn: Connection, opts: MapOptions) -> str:
    """The whole generation: street, communities, grids, micro-grids, buildings."""
    page = Page("wangge · overview", opts.basemap)
    scope = data.View(opts.generation, access=opts.scope)
    page.call("wg.search({map}, " + js_json(opts.geocode_url) + ");")
    # a scoped key opens on its own area (issue 24: her grid, not a speck on the street)
    fit_level = _level_of(conn, opts.scope.area) if opts.scope.area else "street"
    for level in LEVEL_STYLES:
        add_area_layer(page, conn, scope, opts, level, fit=level == fit_level)
    add_buildings(page, conn, scope, opts)
    if opts.show_incidents:
        add_incidents(page, conn, scope, opts)
    legend = [{"label": LEVEL_NAMES[lv], "color": s["color"]} for lv, s in LEVEL_STYLES.items()]
    legend.append({"label": "楼 building", "color": "#666666", "fill": "#999999"})
    legend.append({"label": "事件 open incident", "color": "#b10026", "fill": "#fc4e2a"})
    notes = [f"basemap: {opts.basemap.name} ({opts.basemap.datum})"]
    page.call(f"wg.legend({{map}}, 'wangge', {js_json(legend)}, {js_json(notes)});")
    return page.render(static_url=opts.static_url)


def _level_of(conn: Connection, code: str | None) -> str:
    """The level of area ``code`` ("street" when unknown)."""
    level = conn.execute(
        text("SELECT level FROM areas WHERE code = :c LIMIT 1"), {"c": code}
    ).scalar_one_or_none()
    return str(level) if level else "street"
