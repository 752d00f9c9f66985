"""The patrol map: the tracks the caller may read and the residential buildings no patrol
visited in the period (red), over the micro-grids. Tracks are personal data: another
person's track drawn here is audited like any other read of it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from gis.access import Principal
from gis.coverage.thresholds import Thresholds
from gis.maps import data
from gis.maps.overview import add_area_layer
from gis.maps.page import MapOptions, Page, js_json
from gis.patrols.access import is_own, visible
from gis.patrols.coverage import patrol_coverage
from gis.patrols.tables import PATROLS
from gis.security.audit import Entry

#: Most tracks one page draws (the newest).
MAX_TRACKS = 500
TRACK_TIP = [["member", "组员"], ["started", "开始"], ["distance_m", "米"]]
BUILDING_TIP = [["code", "楼栋"], ["households", "户数"], ["micro_grid", "微网格"]]


def patrol_map(
    conn: Connection,
    opts: MapOptions,
    member: Principal,
    *,
    start: datetime | None,
    end: datetime | None,
    thresholds: Thresholds,
    timezone: str,
    audit: Entry | None = None,
) -> str:
    """The page's HTML (see the module), as far as ``opts.scope`` reaches."""
    from gis.labels import local_time

    answer = patrol_coverage(
        conn, area=None, start=start, end=end, thresholds=thresholds, scope=opts.scope
    )
    page = Page("wangge · 巡查覆盖", opts.basemap)
    view = data.View(opts.generation, access=opts.scope)
    add_area_layer(page, conn, view, opts, "micro_grid", fit=True)
    rows = conn.execute(
        select(PATROLS, func.ST_AsGeoJSON(PATROLS.c.track, 7).label("gj"))
        .where(
            PATROLS.c.started_at >= answer["from"],
            PATROLS.c.started_at < answer["to"],
            PATROLS.c.track.is_not(None),
            visible(member, opts.scope),
        )
        .order_by(PATROLS.c.started_at.desc())
        .limit(MAX_TRACKS)
    ).all()
    shown = list(rows)
    others = [int(r.id) for r in shown if not is_own(member, r)]
    if audit is not None and others:
        audit.write(conn, "patrols map", patrols=others)
    tracks = [
        {
            "type": "Feature",
            "geometry": json.loads(r.gj),
            "properties": {
                "member": r.member,
                "started": local_time(r.started_at, timezone),
                "distance_m": round(float(r.distance_m)),
            },
        }
        for r in shown
    ]
    page.geojson(
        "巡查轨迹",
        tracks,
        {"style": {"color": "#0b57d0", "weight": 2, "opacity": 0.6}, "tooltip": TRACK_TIP},
    )
    unvisited_codes = {
        b["code"] for b in answer["buildings"] if b["residential"] and not b["visited"]
    }
    shapes = data_buildings(conn, sorted(unvisited_codes))
    page.geojson(
        "未走访楼栋",
        [{"type": "Feature", "geometry": g, "properties": p} for g, p in shapes],
        {"style": {"color": "#b3261e", "weight": 2, "fillOpacity": 0.5}, "tooltip": BUILDING_TIP},
    )
    note = (
        f"{len(tracks)} 条轨迹，{len(unvisited_codes)} 栋住宅楼未走访 "
        f"({local_time(answer['from'], timezone)} – {local_time(answer['to'], timezone)})"
    )
    legend = [
        {"label": "巡查轨迹", "color": "#0b57d0", "fill": "#0b57d0"},
        {"label": "未走访楼栋", "color": "#b3261e", "fill": "#b3261e"},
    ]
    page.call(f"wg.legend({{map}}, '巡查覆盖', {js_json(legend)}, {js_json([note])});")
    return page.render(static_url=opts.static_url)


def data_buildings(conn: Connection, codes: list[str]) -> list[tuple[Any, dict[str, Any]]]:
    """GeoJSON geometry and popup fields of the buildings ``codes``."""
    from sqlalchemy import text

    rows = conn.execute(
        text(
            "SELECT code, households, ST_AsGeoJSON(geom, 7) AS gj FROM buildings "
            "WHERE code = ANY(:codes) ORDER BY code"
        ),
        {"codes": codes},
    )
    return [(json.loads(r.gj), {"code": r.code, "households": int(r.households)}) for r in rows]
