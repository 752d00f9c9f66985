"""The demo's people (issue 24): a field worker named after a member of the micro-grid with
the most open incidents (so a newcomer signs in to real work), and an official of its
community. Earlier demo people are revoked on each run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text, update

from gis.security.keys import CreatedKey, create_key
from gis.store.models import API_KEYS

#: what every demo person's key name ends with (so the next run can revoke them)
DEMO_MARK = "（演示 demo）"

_BUSIEST = text(
    """
    SELECT a.code, a.name, a.parent_code,
           (SELECT s.name FROM staff s WHERE s.area_code = a.code
            ORDER BY s.role = 'full_time_member' DESC, s.name LIMIT 1) AS member,
           (SELECT count(*) FROM incidents i WHERE i.owner_code = a.code
            AND i.status NOT IN ('resolved', 'closed')) AS open_count
    FROM areas a
    WHERE a.level = 'micro_grid' AND upper_inf(a.valid)
      AND EXISTS (SELECT 1 FROM staff s WHERE s.area_code = a.code)
    ORDER BY open_count DESC, a.code
    LIMIT 1
    """
)


@dataclass(frozen=True)
class DemoPeople:
    grid: str
    grid_name: str
    open_count: int
    worker: CreatedKey
    community: str | None
    official: CreatedKey | None


def _community_of(conn: Connection, code: str) -> str | None:
    found = conn.execute(
        text(
            "WITH RECURSIVE up AS (SELECT code, parent_code, level FROM areas WHERE code = :c "
            "UNION SELECT a.code, a.parent_code, a.level FROM areas a JOIN up ON a.code = "
            "up.parent_code) SELECT code FROM up WHERE level = 'community' LIMIT 1"
        ),
        {"c": code},
    ).scalar_one_or_none()
    return str(found) if found else None


def create_demo_people(conn: Connection) -> DemoPeople | None:
    """Fresh keys for the demo's field worker and official (None without a staffed
    micro-grid)."""
    conn.execute(
        update(API_KEYS)
        .where(API_KEYS.c.name.endswith(DEMO_MARK), API_KEYS.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    row = conn.execute(_BUSIEST).first()
    if row is None:
        return None
    member = row.member or "网格员"
    worker = create_key(conn, role="field_worker", scope=row.code, name=f"{member}{DEMO_MARK}")
    community = _community_of(conn, row.code)
    official = create_key(conn, role="official", scope=community, name=f"社区干部{DEMO_MARK}")
    return DemoPeople(row.code, row.name, int(row.open_count), worker, community, official)
