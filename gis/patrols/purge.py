"""Retention: raw fixes and the drawn track of patrols that ended more than
``patrol_retention_days`` ago are deleted; the patrol's totals and visited buildings stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

_PURGE = text(
    """
    WITH old AS (
        UPDATE patrols SET track = NULL, purged_at = now()
        WHERE status = 'ended' AND purged_at IS NULL AND ended_at < :before
        RETURNING id
    ),
    fixes AS (DELETE FROM patrol_fixes WHERE patrol_id IN (SELECT id FROM old) RETURNING 1)
    SELECT (SELECT count(*) FROM old) AS patrols, (SELECT count(*) FROM fixes) AS fixes
    """
)
_COUNT = text(
    """
    SELECT count(DISTINCT p.id) AS patrols, count(f.t) AS fixes
    FROM patrols p LEFT JOIN patrol_fixes f ON f.patrol_id = p.id
    WHERE p.status = 'ended' AND p.purged_at IS NULL AND p.ended_at < :before
    """
)


def purge_fixes(
    conn: Connection,
    *,
    retention_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Delete the raw fixes (and the track line) of patrols that ended before ``now`` −
    ``retention_days``; answers how many patrols and fixes (would be, with ``dry_run``)."""
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    row = conn.execute(_COUNT if dry_run else _PURGE, {"before": before}).one()
    return {
        "before": before,
        "patrols": int(row.patrols),
        "fixes": int(row.fixes),
        "dry_run": dry_run,
    }
