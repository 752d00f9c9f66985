"""The heat page: incidents as a heat layer and as H3 hexagons, hotspots outlined, filters."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection

from gis.crs import wgs84_to_gcj02
from gis.heat.cells import cell_centres, count_cells, points_to_cells
from gis.heat.service import HeatQuery, heatmap, incident_coords
from gis.maps import data
from gis.maps.overview import add_area_layer
from gis.maps.page import HEAT_JS, MapOptions, Page, js_json

HEX_TIP = [
    ["cell", ""],
    ["count", "incidents"],
    ["households", "households"],
    ["rate", "per 1,000 households"],
    ["gi_z", "Gi* z"],
    ["hotspot", "hotspot"],
]
#: Sequential colours (light → dark) for the hexagon choropleth, by quantile class.
RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
HEAT_MAX_POINTS = 20_000
HEAT_AGGREGATE_RES = 11
HOTSPOT_OUTLINE = {"color": "#000000", "weight": 3, "opacity": 1.0}


def _classes(values: list[float]) -> list[float]:
    """Upper bounds of up to five equal-count classes (ascending, distinct)."""
    ordered = sorted(v for v in values if v > 0)
    if not ordered:
        return []
    bounds = [
        ordered[min(len(ordered) - 1, (len(ordered) * (i + 1)) // len(RAMP))]
        for i in range(len(RAMP))
    ]
    return sorted(set(bounds))


def heat_page(conn: Connection, opts: MapOptions, query: HeatQuery) -> str:
    """Heat layer + hexagons (count or rate), hotspots outlined, a filter form, a legend."""
    page = Page("wangge · heat", opts.basemap)
    view = data.View(opts.generation, access=opts.scope)
    add_area_layer(page, conn, view, opts, "street", fit=True)
    add_area_layer(page, conn, view, opts, "micro_grid", show=False)
    answer = heatmap(conn, query, generation=opts.generation, scope=opts.scope)
    if answer.get("note"):
        page.notes.append(answer["note"])
    measure = "rate" if query.normalize == "households" else "count"
    hexes = answer["features"]
    bounds = _classes([float(f["properties"].get(measure) or 0) for f in hexes])
    for f in hexes:
        value = float(f["properties"].get(measure) or 0)
        klass = next((i for i, b in enumerate(bounds) if value <= b), None)
        f["properties"]["class"] = "none" if value == 0 or klass is None else str(klass)
        f["geometry"] = _shift_polygon(opts, f["geometry"])
    colors = {str(i): RAMP[i + len(RAMP) - len(bounds)] for i in range(len(bounds))}
    colors["none"] = "#ffffff"
    hex_opts: dict[str, Any] = {
        "style": {"color": "#888888", "weight": 1, "fillOpacity": 0.55},
        "colorBy": {"property": "class", "values": colors, "fillOnly": True},
        "outlineBy": {"property": "hotspot", "style": HOTSPOT_OUTLINE},
        "tooltip": HEX_TIP,
        "popup": HEX_TIP,
    }
    name = "H3 " + ("per 1,000 households" if measure == "rate" else "incidents")
    page.geojson(name, hexes, hex_opts)
    points = _heat_points(conn, opts, query)
    page.plugins.add(HEAT_JS)
    strongest = max((p[2] for p in points), default=1.0)
    heat_opts = {"show": True, "heat": {"radius": 18, "max": strongest}}
    page.call(f"wg.heat({{map}}, 'heat', {js_json(points)}, {js_json(heat_opts)});")
    legend = [
        {"label": f"≤ {b:g}", "fill": colors[str(i)], "color": "#888888"}
        for i, b in enumerate(bounds)
    ]
    legend.append({"label": "hotspot (outlined)", "color": "#000000"})
    hot = answer["hotspots"]
    notes = [hot["rule"], hot["method"], f"{answer['total']} incidents, H3 res {query.res}"]
    page.call(f"wg.legend({{map}}, {js_json(name)}, {js_json(legend)}, {js_json(notes)});")
    page.call("wg.filters({map}, " + js_json(_filter_state(query)) + ");")
    return page.render(static_url=opts.static_url)


def _shift_polygon(opts: MapOptions, geometry: dict[str, Any]) -> dict[str, Any]:
    if opts.basemap.datum == "wgs84":
        return geometry
    ring = [list(opts.basemap.shift_point(lon=x, lat=y)) for x, y in geometry["coordinates"][0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _heat_points(conn: Connection, opts: MapOptions, query: HeatQuery) -> list[list[float]]:
    """[lat, lon, weight] for the heat layer (in the basemap's datum).

    Up to HEAT_MAX_POINTS incidents are drawn one by one (weight 1); more are first counted
    per H3 res-11 cell (about 25 m across, finer than the heat radius) and drawn as weighted
    cell centres, so the page stays small at city scale.
    """
    lon, lat = incident_coords(conn, query, generation=opts.generation, scope=opts.scope)
    weight = np.ones(len(lon))
    if len(lon) > HEAT_MAX_POINTS:
        counted = count_cells(points_to_cells(lon=lon, lat=lat, res=HEAT_AGGREGATE_RES))
        lon, lat = cell_centres(counted.cells)
        weight = counted.counts.astype(np.float64)
    if opts.basemap.datum == "gcj02" and len(lon):
        lon, lat = wgs84_to_gcj02(lon=lon, lat=lat)
    points: list[list[float]] = np.column_stack(
        [np.round(lat, 6), np.round(lon, 6), weight]
    ).tolist()
    return points


def _filter_state(query: HeatQuery) -> dict[str, Any]:
    return {
        "from": query.start.isoformat() if query.start else "",
        "to": query.end.isoformat() if query.end else "",
        "category": ",".join(query.categories),
        "res": query.res,
        "normalize": query.normalize or "",
    }
