"""My grid: one micro-grid for a field worker's phone (390 px wide).

Boundary, buildings coloured by whether they have a team leader, open incidents with status
and due time, facilities with their service radius, and the staff to call.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from gis.access.roles import mask_phone
from gis.coverage.thresholds import SERVICE_RADIUS_M
from gis.errors import NotFound
from gis.maps import data
from gis.maps.overview import AREA_TIP, INCIDENT_OPTS, add_buildings
from gis.maps.page import MapOptions, Page, js_json

FACILITY_TIP = [["name", ""], ["kind", "kind"], ["service_radius_m", "service radius m"]]


def grid_page(conn: Connection, opts: MapOptions, code: str) -> str:
    """The micro-grid ``code`` (any level works; micro-grids are what it is made for)."""
    view = data.View(opts.generation, within=code, access=opts.scope)
    # the scope in the query: an area outside it is as absent as an unknown one
    boundary = data.areas(
        conn, data.View(opts.generation, access=opts.scope), opts.basemap, code=code
    )
    if not boundary:
        raise NotFound(f"no area with code {code!r} in generation {opts.generation}", field="code")
    page = Page(f"wangge · {code}", opts.basemap, zoom=17)
    style = {"color": "#ff7f00", "weight": 4, "fillOpacity": 0.03}
    page.geojson(
        "边界 boundary",
        boundary,
        {"style": style, "tooltip": AREA_TIP, "popup": AREA_TIP, "fit": True},
    )
    # a phone page stays small: always embedded, never tiled
    add_buildings(page, conn, view, _inline(opts), color_by_leader=True)
    radius = {
        "style": {"color": "#6a3d9a", "weight": 1, "fillOpacity": 0.05},
        "radiusProperty": "service_radius_m",
        "tooltip": FACILITY_TIP,
        "popup": FACILITY_TIP,
        "show": False,
    }
    near = data.View(opts.generation, within=code, reach_m=max(SERVICE_RADIUS_M.values()))
    # facilities nearby serve the grid wherever they are: the facilities serving an area in
    # scope are shown with it (docs/access.md), not limited to the key's boundary
    facilities = data.facilities(conn, near, opts.basemap, radius_m=SERVICE_RADIUS_M)
    page.geojson("服务半径 service radius", facilities, radius)
    points = {
        "style": {"color": "#6a3d9a", "fillColor": "#cab2d6", "fillOpacity": 1},
        "tooltip": FACILITY_TIP,
        "popup": FACILITY_TIP,
    }
    page.geojson("设施 facilities", facilities, points)
    if opts.show_incidents:
        incidents = data.incidents(conn, view, opts.basemap)
        page.geojson("事件 open incidents", incidents, INCIDENT_OPTS)
    staff = data.staff(conn, code)
    if opts.mask_staff_phones:
        staff = [{**s, "phone": mask_phone(s["phone"])} for s in staff]
    page.call(f"wg.contacts({{map}}, {js_json(_contacts(staff))});")
    legend = [
        {"label": "has team leader", "fill": "#1a9850", "color": "#1a9850"},
        {"label": "no team leader", "fill": "#d73027", "color": "#d73027"},
        {"label": "facility", "fill": "#cab2d6", "color": "#6a3d9a"},
    ]
    page.call(f"wg.legend({{map}}, {js_json(code)}, {js_json(legend)}, []);")
    return page.render(static_url=opts.static_url)


def _inline(opts: MapOptions) -> MapOptions:
    """``opts`` without tiles (every layer embedded), the caller's scope kept."""
    return replace(opts, tiles_url=None)


ROLE_NAMES = {
    "micro_grid_leader": "微网格长",
    "full_time_member": "专职网格员",
    "part_time_member": "兼职网格员",
    "building_team_leader": "楼组长",
    "department_liaison": "部门联络员",
}


def _contacts(staff: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": s["name"],
            "role": ROLE_NAMES.get(s["role"], s["role"]),
            "phone": s["phone"],
            "at": s["at"],
        }
        for s in staff
    ]
