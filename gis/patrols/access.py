"""Who may read whose patrol: tracks are personal location data.

A member reads her own patrols; an official (a leader or an official of the street) reads
those recorded in her :class:`~gis.access.Scope` (the patrol's micro-grid at or below the
key's area, by the Scope's areas rule); an admin reads all within her scope (everything when
unscoped). Field workers and integration keys read only their own. Reading another person's
track is audited by the caller (``gis.security.audit``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, false, true

from gis.access import Principal, Scope
from gis.patrols.tables import PATROLS

#: Roles that read other people's patrols (within their scope).
READS_OTHERS = frozenset({"official", "admin"})


def is_own(member: Principal, row: Any) -> bool:
    return bool(row.key_id == member.key_id and row.member == member.name)


def own(member: Principal) -> ColumnElement[bool]:
    """Patrols ``member`` recorded herself."""
    return (PATROLS.c.key_id == member.key_id) & (PATROLS.c.member == member.name)


def others(member: Principal, scope: Scope) -> ColumnElement[bool]:
    """Other people's patrols ``member`` may read: those recorded in micro-grids of
    ``scope`` (all for an unscoped official or admin; none for other roles)."""
    if member.role not in READS_OTHERS:
        return false()
    if scope.area is None:
        return true()
    return PATROLS.c.area_code.in_(scope.area_codes())


def visible(member: Principal, scope: Scope) -> ColumnElement[bool]:
    """Every patrol ``member`` may read."""
    return own(member) | others(member, scope)


def may_read(conn: Connection, member: Principal, scope: Scope, row: Any) -> bool:
    """Whether ``member`` may read patrol ``row`` (its track and fixes)."""
    if is_own(member, row):
        return True
    from sqlalchemy import select

    return bool(
        conn.execute(
            select(PATROLS.c.id).where(PATROLS.c.id == row.id, others(member, scope))
        ).first()
    )
