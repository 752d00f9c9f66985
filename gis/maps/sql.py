"""SQL fragments shared by the map pages and the vector tiles.

Fragments are fixed strings picked by code (never built from user input); every value is a
bound parameter. Incident counts are included only when the incidents table exists.
"""

from __future__ import annotations


#: The codes of area ``:within`` and of every area below it, any generation (an API key's
#: scope; the same tree as :func:`gis.areas.query.subtree_codes`).
def subtree_sql(param: str = "within") -> str:
    """The codes of the area bound to ``:param`` and of every area below it."""
    return (
        f"WITH RECURSIVE t(code) AS (SELECT CAST(:{param} AS text) UNION "
        "SELECT c.code FROM areas c JOIN t ON c.parent_code = t.code) SELECT code FROM t"
    )


SUBTREE_SQL = subtree_sql("within")


def inside_boundary_sql(alias: str, param: str) -> str:
    """``alias.geom`` meets the current boundary of the area bound to ``:param`` (how an API
    key's scope reaches buildings and facilities, which have no owner in the hierarchy)."""
    return (
        f"ST_Intersects({alias}.geom, (SELECT ST_Union(k.geom) FROM areas k "
        f"WHERE k.code = :{param} AND k.valid @> CAST(:generation AS int)))"
    )


#: Statuses after which an incident no longer needs anyone.
CLOSED_STATUSES = ("resolved", "closed")

#: The responsible person shown for an area: its micro-grid leader, else its first staff.
AREA_LEADER = (
    "(SELECT s.name FROM staff s WHERE s.area_code = a.code "
    "ORDER BY (s.role <> 'micro_grid_leader'), s.code LIMIT 1)"
)
AREA_HOUSEHOLDS = "COALESCE((a.attributes ->> 'households')::int, 0)"
AREA_OPEN_INCIDENTS = (
    "(SELECT count(*) FROM incidents i WHERE ST_Covers(a.geom, i.geom) "
    "AND i.status NOT IN ('resolved', 'closed'))"
)
BUILDING_LEADER = (
    "(SELECT s.name FROM staff s WHERE s.building_code = b.code "
    "AND s.role = 'building_team_leader' ORDER BY s.code LIMIT 1)"
)


def area_columns() -> str:
    """Tooltip columns of an area row ``a``: code, name, level, parent, leader, households…"""
    return (
        "a.code, a.name, a.level, a.parent_code, "
        f"{AREA_LEADER} AS leader, {AREA_HOUSEHOLDS} AS households, "
        f"{AREA_OPEN_INCIDENTS} AS open_incidents"
    )


def building_columns() -> str:
    """Tooltip columns of a building row ``b``."""
    return f"b.code, b.name, b.address, b.households, b.residents, {BUILDING_LEADER} AS leader"
