"""SQL fragments shared by the map pages and the vector tiles.

Fragments are fixed strings picked by code (never built from user input); every value is a
bound parameter. Incident counts are included only when the incidents table exists.
"""

from __future__ import annotations

from gis.access.scope import as_text, owned_below
from gis.store.models import AREAS, INCIDENTS

#: Statuses after which an incident no longer needs anyone.
CLOSED_STATUSES = ("resolved", "closed")

#: The responsible person shown for an area: its micro-grid leader, else its first staff.
AREA_LEADER = (
    "(SELECT s.name FROM staff s WHERE s.area_code = a.code "
    "ORDER BY (s.role <> 'micro_grid_leader'), s.code LIMIT 1)"
)
AREA_HOUSEHOLDS = "COALESCE((a.attributes ->> 'households')::int, 0)"


def area_open_incidents() -> str:
    """An area row ``a``'s open incidents: those *owned* at or below it (the access rule of
    incidents, by the stored chain: never by shape, so an overlap of two sibling areas does
    not count one area's incidents in the other)."""
    owned, _ = as_text(owned_below(INCIDENTS.alias("i"), AREAS.alias("a").c.code))
    return (
        f"(SELECT count(*) FROM incidents i WHERE {owned} "
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
        f"{area_open_incidents()} AS open_incidents"
    )


def building_columns() -> str:
    """Tooltip columns of a building row ``b``."""
    return f"b.code, b.name, b.address, b.households, b.residents, {BUILDING_LEADER} AS leader"
