"""A month of synthetic patrols on the demo street (issue 27), from the routes the demo
generator wrote (``patrol_routes.geojson``).

Each route's member patrols on most working days of the last ``days`` days, starting about
09:00 Beijing time and walking her route at ~1.3 m/s with a fix every 5 s. Every kept fix
lies on the route line, so the buildings visited are exactly the route's (the demo's
``unpatrolled`` defects list those it never passes); a few fixes are deliberately bad (poor
accuracy, a speed spike) so cleaning has something to drop. All patrols go through the same
cleaning and the same visited-buildings kernel as recorded ones, in one batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import Connection, insert, text

from gis.coverage.thresholds import Thresholds
from gis.patrols.clean import Cleaned, clean, totals
from gis.patrols.fixes import Fixes, from_epoch
from gis.patrols.tables import PATROL_VISITS, PATROLS
from gis.patrols.track import geofence, track_lines
from gis.patrols.visits import FootprintIndex, LocalMetres

ROUTES_FILE = "patrol_routes.geojson"
STEP_S = 5.0
SPEED_MS = 1.3
_ZONE = ZoneInfo("Asia/Shanghai")


def _walk(line: Any, start: float, rng: np.random.Generator, local: LocalMetres) -> Fixes:
    """Fixes along ``line`` (WGS-84) from time ``start``: the kept ones exactly on the line
    (each interpolated on its own leg, in degrees), plus a few bad ones cleaning drops."""
    coords = np.asarray(line.coords)
    x, y = local.points(coords[:, 0], coords[:, 1])
    legs = np.hypot(np.diff(x), np.diff(y))
    done = np.concatenate([[0.0], np.cumsum(legs)])
    steps = max(2, int(done[-1] / (SPEED_MS * STEP_S)) + 1)
    along = np.linspace(0.0, done[-1], steps)
    seg = np.clip(np.searchsorted(done, along, side="right") - 1, 0, len(legs) - 1)
    u = np.divide(along - done[seg], legs[seg], out=np.zeros(steps), where=legs[seg] > 0)
    u = u.clip(0.0, 1.0)
    lon = coords[seg, 0] + u * (coords[seg + 1, 0] - coords[seg, 0])
    lat = coords[seg, 1] + u * (coords[seg + 1, 1] - coords[seg, 1])
    t = start + np.arange(steps, dtype=np.float64) * STEP_S
    acc = rng.uniform(3.0, 12.0, steps)
    if steps > 6:
        poor, spike = rng.choice(np.arange(2, steps - 2), 2, replace=False).tolist()
        lat[poor] += 40.0 / 111_000.0  # 40 m off the route, accuracy 45 m: dropped
        acc[poor] = 45.0
        lon[spike] += 250.0 / 95_000.0  # 250 m away and straight back: a speed spike
    return Fixes(t.astype(np.float64), lon, lat, acc, np.full(steps, 4.0))


def load_demo_patrols(
    conn: Connection,
    folder: Path,
    *,
    thresholds: Thresholds,
    now: datetime | None = None,
    days: int = 30,
    seed: int = 27,
    progress: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Replace the demo patrols (those without a key) with a month of synthetic ones."""
    rng = np.random.default_rng(seed)
    routes = json.loads((folder / ROUTES_FILE).read_text(encoding="utf-8"))["features"]
    now = now or datetime.now(UTC)
    conn.execute(text("DELETE FROM patrols WHERE key_id IS NULL AND source = 'json'"))
    grid_rows = conn.execute(
        text(
            "SELECT code, ST_AsBinary(geom) AS wkb FROM areas WHERE level = :level "
            "AND valid @> (SELECT id FROM generations WHERE state = 'current')"
        ),
        {"level": thresholds.building_level},
    ).all()
    grids = {r.code: shapely.from_wkb(bytes(r.wkb)) for r in grid_rows}
    b_rows = conn.execute(text("SELECT code, ST_AsBinary(geom) AS wkb FROM buildings")).all()
    footprints = shapely.from_wkb([bytes(r.wkb) for r in b_rows])
    lon0, lat0 = shapely.centroid(shapely.union_all(shapely.envelope(footprints))).coords[0]
    local = LocalMetres(float(lon0), float(lat0))
    index = FootprintIndex.build(local.geometries(footprints), pad_m=thresholds.patrol_visit_m)
    today = now.astimezone(_ZONE).date()
    plans: list[tuple[dict[str, Any], Cleaned, int]] = []
    for k in range(days, 0, -1):
        day = today - timedelta(days=k)
        if day.weekday() >= 5:
            continue
        for feature in routes:
            if rng.random() < 0.15:  # a day off
                continue
            start = datetime(day.year, day.month, day.day, 9, tzinfo=_ZONE) + timedelta(
                minutes=float(rng.uniform(0, 90))
            )
            line = shapely.geometry.shape(feature["geometry"])
            fixes = _walk(line, start.timestamp(), rng, local)
            plans.append((feature["properties"], clean(fixes, thresholds), len(fixes)))
    progress(f"patrols: {len(plans)} synthetic patrols over {days} days")
    # one kernel call for every patrol's segments
    xs, ys, owners, seg_i, seg_j = [], [], [], [], []
    offset = 0
    for n, (_, cleaned, _) in enumerate(plans):
        x, y = local.points(cleaned.fixes.lon, cleaned.fixes.lat)
        i, j = cleaned.segments()
        xs.append(x)
        ys.append(y)
        seg_i.append(i + offset)
        seg_j.append(j + offset)
        owners.append(np.full(len(i), n))
        offset += len(x)
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    found = index.query(
        x_all, y_all, np.concatenate(seg_i), np.concatenate(seg_j), np.concatenate(owners),
        distance_m=thresholds.patrol_visit_m,
    )  # fmt: skip
    t_all = np.concatenate([c.fixes.t for _, c, _ in plans])
    rows = []
    for n, (props, cleaned, received) in enumerate(plans):
        dist, secs = totals(cleaned, xs[n], ys[n])
        f = cleaned.fixes
        area = grids.get(props["micro_grid"])
        track = track_lines(cleaned)
        rows.append(
            {
                "key_id": None,
                "member": props["member_name"],
                "area_code": props["micro_grid"],
                "source": "json",
                "status": "ended",
                "started_at": from_epoch(float(f.t[0])),
                "ended_at": from_epoch(float(f.t[-1])),
                "fixes_received": received,
                "fixes_kept": len(f),
                "dropped": {**cleaned.dropped, **cleaned.broken},
                "distance_m": round(dist, 1),
                "duration_s": round(secs, 1),
                "geofence": []
                if area is None
                else geofence(cleaned, area, code=props["micro_grid"],
                              limit_s=thresholds.patrol_geofence_s),
                "track": None if track is None else f"SRID=4326;{shapely.to_wkt(track)}",
            }
        )  # fmt: skip
    ids = conn.execute(
        insert(PATROLS).returning(PATROLS.c.id, sort_by_parameter_order=True),
        rows,
    ).scalars().all()  # fmt: skip
    patrol_ids = np.asarray(ids, dtype=np.int64)
    visits = [
        {
            "patrol_id": int(patrol_ids[o]),
            "building_code": b_rows[b].code,
            "visited_at": from_epoch(float(t_all[k])),
            "distance_m": round(float(d), 2),
        }
        for o, b, k, d in zip(
            found.owner.tolist(), found.building.tolist(), found.fix.tolist(),
            found.distance_m.tolist(), strict=True,
        )
    ]  # fmt: skip
    if visits:
        conn.execute(insert(PATROL_VISITS), visits)
    # the raw fixes (kept ones; a phone would also have sent the dropped ones)
    pid = np.repeat(patrol_ids, [len(x) for x in xs])
    lon_all = np.concatenate([c.fixes.lon for _, c, _ in plans])
    lat_all = np.concatenate([c.fixes.lat for _, c, _ in plans])
    acc_all = np.concatenate([c.fixes.accuracy_m for _, c, _ in plans])
    conn.execute(
        text(
            """
            INSERT INTO patrol_fixes (patrol_id, t, lon, lat, accuracy_m, ele_m)
            SELECT p, to_timestamp(t), x, y, a, 4.0
            FROM unnest(CAST(:p AS bigint[]), CAST(:t AS float8[]), CAST(:x AS float8[]),
                        CAST(:y AS float8[]), CAST(:a AS float8[])) AS f(p, t, x, y, a)
            """
        ),
        {"p": pid.tolist(), "t": t_all.tolist(), "x": lon_all.tolist(), "y": lat_all.tolist(),
         "a": acc_all.tolist()},
    )  # fmt: skip
    visited = len({b for b in found.building.tolist()})
    return [
        f"patrols: {len(plans)} patrols, {len(t_all)} fixes kept, "
        f"{len(visits)} visits to {visited} buildings"
    ]


def load_patrols(
    conn: Connection, folder: Path, progress: Callable[[str], None] = lambda _: None
) -> list[str]:
    """:func:`load_demo_patrols` with the deployment's thresholds (``wangge demo load``)."""
    from gis.coverage.thresholds import resolve_thresholds
    from gis.settings import Settings

    limits = resolve_thresholds(Settings().coverage_thresholds)
    return load_demo_patrols(conn, folder, thresholds=limits, progress=progress)
