"""Who may read whose patrol: tracks are personal location data.

A member reads her own patrols; an official (a leader or an official of the street) reads
those recorded in her scope (the patrol's micro-grid at or below the key's area); an admin
reads all (an admin key with a scope: that scope). Field workers read only their own.
Reading another person's track is audited by the caller (``gis.security.audit``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gis.areas.query import subtree_codes
from gis.security.roles import Principal

#: Roles that read other people's patrols (within their scope).
READS_OTHERS = frozenset({"official", "admin"})


def is_own(member: Principal, row: Any) -> bool:
    return bool(row.key_id == member.key_id and row.member == member.name)


def may_read(conn: Connection, member: Principal, row: Any) -> bool:
    """Whether ``member`` may read patrol ``row`` (its track and fixes)."""
    if is_own(member, row):
        return True
    if member.role not in READS_OTHERS:
        return False
    if member.scope is None:
        return True
    if row.area_code is None:
        return False
    return row.area_code in set(conn.execute(subtree_codes(member.scope)).scalars())


def visible_area_codes(conn: Connection, member: Principal) -> set[str] | None:
    """Micro-grid codes whose patrols ``member`` may list besides her own (None: all;
    empty: only her own)."""
    if member.role not in READS_OTHERS:
        return set()
    if member.scope is None:
        return None
    return set(conn.execute(subtree_codes(member.scope)).scalars())
