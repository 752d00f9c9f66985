"""Every map page as HTML, one function each (the API and ``wangge map`` call these).

Incidents and coverage findings come from features built beside this one: until their table
or module exists, a page draws what exists and says in a banner what is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from gis.access import EVERYWHERE, Scope
from gis.errors import NotFound
from gis.heat.service import HeatQuery
from gis.incidents.query import visible_timeline
from gis.maps import data
from gis.maps.grid_page import grid_page
from gis.maps.heat_page import heat_page
from gis.maps.index import index_html
from gis.maps.overview import AREA_TIP, INCIDENT_OPTS, add_area_layer, overview_page
from gis.maps.page import MapOptions, Page, js_json
from gis.store.models import AREAS

PAGES = ("index", "overview", "heat", "coverage", "grid", "incident")

#: Finding colours by severity (coverage page).
SEVERITY_COLORS = {"error": "#d7191c", "warning": "#fdae61", "info": "#2c7bb6"}
FINDING_TIP = [
    ["check", ""],
    ["severity", "severity"],
    ["message", "message"],
    ["area_code", "area"],
    ["other_codes", "also"],
    ["building_code", "building"],
    ["measure", "measure"],
    ["unit", "unit"],
]


def index(
    conn: Connection,
    *,
    generation: int,
    scope: Scope = EVERYWHERE,
    hide: frozenset[str] = frozenset(),
) -> str:
    """The index page: links to every page and a few micro-grids (of those in ``scope``); no
    link to the pages in ``hide`` (the caller's role cannot open them)."""
    codes = conn.execute(
        select(AREAS.c.code)
        .where(
            AREAS.c.level == "micro_grid", AREAS.c.valid.contains(generation), scope.areas(AREAS)
        )
        .order_by(AREAS.c.code)
        .limit(5)
    ).scalars()
    return index_html(grid_codes=list(codes), notes=[], hide=hide)


def overview(conn: Connection, opts: MapOptions) -> str:
    """The overview page (see ``gis.maps.overview``)."""
    return overview_page(conn, opts)


def heat(conn: Connection, opts: MapOptions, query: HeatQuery) -> str:
    """The heat page (see ``gis.maps.heat_page``)."""
    return heat_page(conn, opts, query)


def grid(conn: Connection, opts: MapOptions, code: str) -> str:
    """The my-grid page (see ``gis.maps.grid_page``)."""
    return grid_page(conn, opts, code)


def coverage(conn: Connection, opts: MapOptions) -> str:
    """Every coverage finding in its severity colour, its message in the popup, a legend."""
    page = Page("wangge · coverage", opts.basemap)
    view = data.View(opts.generation, access=opts.scope)
    add_area_layer(page, conn, view, opts, "street", fit=True)
    add_area_layer(page, conn, view, opts, "micro_grid")
    findings = _findings(conn, opts)
    features = []
    for f in findings:
        geometry = f.get("geometry")
        if geometry is None:
            continue
        props = {k: v for k, v in f.items() if k != "geometry"}
        if isinstance(props.get("other_codes"), list):
            props["other_codes"] = ", ".join(props["other_codes"])
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    features = _shift_features(opts, features)
    js_opts = {
        "style": {"weight": 3, "fillOpacity": 0.35},
        "colorBy": {"property": "severity", "values": SEVERITY_COLORS},
        "tooltip": FINDING_TIP,
        "popup": FINDING_TIP,
    }
    page.geojson("findings", features, js_opts)
    legend = [{"label": k, "fill": c, "color": c} for k, c in SEVERITY_COLORS.items()]
    page.call(
        f"wg.legend({{map}}, 'coverage findings', {js_json(legend)}, "
        f"{js_json([f'{len(findings)} findings'])});"
    )
    return page.render(static_url=opts.static_url)


def _findings(conn: Connection, opts: MapOptions) -> list[dict[str, Any]]:
    from gis.coverage.registry import run_coverage

    report = run_coverage(conn, generation=opts.generation, scope=opts.scope)
    return [f.as_dict() for f in report.findings]


def _shift_features(opts: MapOptions, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if opts.basemap.datum == "wgs84" or not features:
        return features
    import json

    import shapely

    geoms = opts.basemap.shift(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))
    for f, g in zip(features, shapely.to_geojson(geoms), strict=True):
        f["geometry"] = json.loads(g)
    return features


def incident(conn: Connection, opts: MapOptions, incident_id: str) -> str:
    """One incident: its location, its owner area and its timeline."""
    view = data.View(opts.generation, access=opts.scope)
    found = data.incidents(conn, view, opts.basemap, open_only=False, incident_id=incident_id)
    if not found:
        raise NotFound(f"no incident with id {incident_id!r}", field="id")
    page = Page(f"wangge · incident {incident_id}", opts.basemap, zoom=17)
    owner = found[0]["properties"].get("owner_code")
    if owner:
        area = data.areas(conn, view, opts.basemap, code=owner)
        page.geojson(
            "owner area", area, {"style": {"color": "#ff7f00", "weight": 3}, "tooltip": AREA_TIP}
        )
    style = {**INCIDENT_OPTS, "fit": True}
    page.geojson("incident", found, style)
    timeline = _timeline(conn, incident_id, opts.scope)
    page.call(f"wg.timeline({{map}}, {js_json(timeline)});")
    return page.render(static_url=opts.static_url)


def _timeline(conn: Connection, incident_id: str, scope: Scope) -> list[dict[str, Any]]:
    rows = (
        conn.execute(
            text(
                "SELECT at::text AS at, kind, from_status, to_status, actor, note, details "
                "FROM incident_events WHERE incident_id::text = :id ORDER BY at, id"
            ),
            {"id": incident_id},
        )
        .mappings()
        .all()
    )
    shown = visible_timeline(conn, [dict(r) for r in rows], scope)
    return [{k: v for k, v in r.items() if k != "details"} for r in shown]
