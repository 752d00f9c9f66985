"""Columns shared by the map pages and the vector tiles, as SQLAlchemy Core expressions on an
area row (any alias of ``areas``) or a building row (any alias of ``buildings``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.sql.expression import FromClause

from gis.access.scope import owned_below
from gis.store.models import INCIDENTS, STAFF

#: Statuses after which an incident no longer needs anyone.
CLOSED_STATUSES = ("resolved", "closed")


def area_leader(a: FromClause) -> Any:
    """The responsible person shown for an area: its micro-grid leader, else its first staff."""
    s = STAFF.alias("s")
    return (
        select(s.c.name)
        .where(s.c.area_code == a.c.code)
        .order_by(s.c.role != "micro_grid_leader", s.c.code)
        .limit(1)
        .scalar_subquery()
    )


def area_households(a: FromClause) -> Any:
    """The households an area's attributes state (0 when none)."""
    return func.coalesce(cast(a.c.attributes["households"].astext, Integer), 0)


def area_open_incidents(a: FromClause) -> Any:
    """An area's open incidents: those *owned* at or below it (the access rule of incidents,
    by the stored chain: never by shape, so an overlap of two sibling areas does not count one
    area's incidents in the other)."""
    i = INCIDENTS.alias("i")
    return (
        select(func.count())
        .select_from(i)
        .where(owned_below(i, a.c.code), i.c.status.not_in(CLOSED_STATUSES))
        .scalar_subquery()
    )


def building_leader(b: FromClause) -> Any:
    """A building's team leader (null when none)."""
    s = STAFF.alias("s")
    return (
        select(s.c.name)
        .where(s.c.building_code == b.c.code, s.c.role == "building_team_leader")
        .order_by(s.c.code)
        .limit(1)
        .scalar_subquery()
    )


def area_columns(a: FromClause) -> list[Any]:
    """Tooltip columns of an area row: code, name, level, parent, leader, households, open
    incidents."""
    return [
        a.c.code,
        a.c.name,
        a.c.level,
        a.c.parent_code,
        area_leader(a).label("leader"),
        area_households(a).label("households"),
        area_open_incidents(a).label("open_incidents"),
    ]


def building_columns(b: FromClause) -> list[Any]:
    """Tooltip columns of a building row."""
    return [
        b.c.code,
        b.c.name,
        b.c.address,
        b.c.households,
        b.c.residents,
        building_leader(b).label("leader"),
    ]
