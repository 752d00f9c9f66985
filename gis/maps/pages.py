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
from gis.labels import (
    CHECK_NAMES,
    EVENT_NAMES,
    SEVERITY_NAMES,
    STATE_NAMES,
    finding_message_zh,
    local_time,
    measure_zh,
    name_of,
)
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
    ["check_name", ""],
    ["severity_name", "级别"],
    ["area_name", "区域"],
    ["others", "涉及"],
    ["measure_text", "量"],
    ["message_zh", "说明"],
]


def index(
    conn: Connection,
    *,
    generation: int,
    scope: Scope = EVERYWHERE,
    hide: frozenset[str] = frozenset(),
    static_url: str | None = "/maps/static",
) -> str:
    """The index page: links to the pages the role may open (not those in ``hide``) and
    every micro-grid in ``scope`` by name, under its grid and community."""
    grids = conn.execute(
        select(AREAS.c.code, AREAS.c.name, AREAS.c.parent_code)
        .where(
            AREAS.c.level == "micro_grid", AREAS.c.valid.contains(generation), scope.areas(AREAS)
        )
        .order_by(AREAS.c.code)
    ).all()
    parents = {
        r.code: (r.name, r.parent_code)
        for r in conn.execute(
            select(AREAS.c.code, AREAS.c.name, AREAS.c.parent_code).where(
                AREAS.c.level.in_(("grid", "community")), AREAS.c.valid.contains(generation)
            )
        )
    }
    out = []
    for g in grids:
        grid_name, community_code = parents.get(g.parent_code or "", (None, None))
        community = parents.get(community_code or "", (None, None))[0]
        out.append({"code": g.code, "name": g.name, "grid": grid_name, "community": community})
    out.sort(key=lambda r: (r["community"] or "\uffff", r["grid"] or "\uffff", r["name"] or ""))
    return index_html(grids=out, notes=[], hide=hide, static_url=static_url)


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
    """Every coverage finding in its severity colour, named and explained in Chinese; a
    findings panel (severity, check, area, measure, message) with filters by severity and
    check, a click zooming to the finding; errors also drawn as a halo at their centre, so a
    60 m² sliver shows at street zoom; the summary counts."""
    page = Page("wangge · 覆盖检查", opts.basemap, links=opts.links)
    view = data.View(opts.generation, access=opts.scope)
    add_area_layer(page, conn, view, opts, "street", fit=True)
    add_area_layer(page, conn, view, opts, "micro_grid")
    findings = _findings(conn, opts)
    names = _area_names(conn, findings)
    features = []
    for f in findings:
        geometry = f.get("geometry")
        if geometry is None:
            continue
        area = names.get(f.get("area_code") or "", f.get("area_code") or "")
        others = [names.get(c, c) for c in f.get("other_codes") or []]
        props = {
            "check": f["check"],
            "severity": f["severity"],
            "check_name": name_of(CHECK_NAMES, f["check"]),
            "severity_name": name_of(SEVERITY_NAMES, f["severity"]),
            "area_name": area,
            "others": "、".join(others),
            "measure_text": measure_zh(f.get("measure"), f.get("unit") or ""),
            "message_zh": finding_message_zh(
                f["check"], area, f.get("measure"), f.get("unit") or ""
            ),
        }
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    features = _shift_features(opts, features)
    _centres(features)
    js_opts = {
        "style": {"weight": 3, "fillOpacity": 0.35},
        "colorBy": {"property": "severity", "values": SEVERITY_COLORS},
        "tooltip": FINDING_TIP,
        "popup": FINDING_TIP,
        "keep": True,
    }
    page.geojson("覆盖问题 findings", features, js_opts)
    counts = {
        s: sum(1 for f in features if f["properties"]["severity"] == s) for s in SEVERITY_COLORS
    }
    legend = [
        {"label": f"{name_of(SEVERITY_NAMES, k)}（{counts[k]}）", "fill": c, "color": c}
        for k, c in SEVERITY_COLORS.items()
    ]
    page.call(
        f"wg.legend({{map}}, '覆盖检查', {js_json(legend)}, "
        f"{js_json([f'共 {len(findings)} 项发现'])});"
    )
    checks = sorted({f["properties"]["check"] for f in features})
    page.call(
        "wg.findings({map}, '覆盖问题 findings', "
        + js_json(
            {
                "colors": SEVERITY_COLORS,
                "severities": [[k, name_of(SEVERITY_NAMES, k)] for k in SEVERITY_COLORS],
                "checks": [[c, name_of(CHECK_NAMES, c)] for c in checks],
            }
        )
        + ");"
    )
    return page.render(static_url=opts.static_url)


def _area_names(conn: Connection, findings: list[dict[str, Any]]) -> dict[str, str]:
    codes = {f.get("area_code") for f in findings} | {
        c for f in findings for c in (f.get("other_codes") or [])
    }
    codes.discard(None)
    if not codes:
        return {}
    rows = conn.execute(
        text("SELECT code, max(name) AS name FROM areas WHERE code = ANY(:c) GROUP BY code"),
        {"c": sorted(c for c in codes if c)},
    )
    return {r.code: r.name or r.code for r in rows}


def _centres(features: list[dict[str, Any]]) -> None:
    """Each finding's ``centre`` [lat, lon] (a point on its surface) for halos and zooming."""
    if not features:
        return
    import json

    import shapely

    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    points = shapely.point_on_surface(geoms)
    for f, x, y in zip(features, shapely.get_x(points), shapely.get_y(points), strict=True):
        f["properties"]["centre"] = [round(float(y), 7), round(float(x), 7)]


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
    found = data.incidents(
        conn,
        view,
        opts.basemap,
        open_only=False,
        incident_id=incident_id,
        timezone=opts.timezone,
    )
    if not found:
        raise NotFound(f"no incident with id {incident_id!r}", field="id")
    page = Page("wangge · 事件", opts.basemap, zoom=17, links=opts.links)
    owner = found[0]["properties"].get("owner_code")
    if owner:
        area = data.areas(conn, view, opts.basemap, code=owner)
        page.geojson(
            "owner area", area, {"style": {"color": "#ff7f00", "weight": 3}, "tooltip": AREA_TIP}
        )
    style = {**INCIDENT_OPTS, "fit": True}
    page.geojson("incident", found, style)
    timeline = _timeline(conn, incident_id, opts.scope, opts.timezone)
    page.call(f"wg.timeline({{map}}, {js_json(timeline)});")
    return page.render(static_url=opts.static_url)


def _timeline(
    conn: Connection, incident_id: str, scope: Scope, timezone: str
) -> list[dict[str, Any]]:
    """The incident's events for people: local time, the change by state names, who, note."""
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
    out = []
    for r in shown:
        if r["to_status"]:
            change = f"{name_of(STATE_NAMES, r['from_status']) or '上报'} → "
            change += name_of(STATE_NAMES, r["to_status"])
        else:
            change = name_of(EVENT_NAMES, r["kind"])
        out.append(
            {
                "at": local_time(r["at"], timezone),
                "change": change,
                "actor": r["actor"],
                "note": r["note"],
            }
        )
    return out
