"""Visited buildings for one day of a city: 500 grid members, 1,000,000 GPS fixes, against
100,000 building footprints (issue 27).

Three ways, on the very same data (footprints and track segments in one local metric CRS,
visit distance 15 m), side by side in one run:

* wangge: ``gis.patrols.visits.FootprintIndex`` (a grid over footprints in metres, queried
  with the track's segments in a numba kernel, single thread); the fixes arrive in WGS-84
  and their projection to metres is timed with the query. The footprint index is built once
  (footprints do not change from day to day, like PostGIS's GiST index); its build is shown.
* PostGIS: ``ST_DWithin`` join of the 1M segments with the footprints (both GiST-indexed,
  SRID 0 metres), ``SELECT DISTINCT patrol, building``.
* GeoPandas: ``sjoin(segments, footprints, predicate="dwithin", distance=15)`` (its STRtree is
  built inside the call).

"Same answers" compares the (patrol, building) pairs; a pair whose distance is within 1 mm
of 15 m may differ (floating point). Prints the ratio to the faster peer.

    .venv/bin/python bench/patrols.py [--members 500 --fixes 1000000 --buildings 100000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    machine_line,
    pg_connect,
    postgis_version,
    single_thread_env,
    table,
    throwaway_db,
)

single_thread_env()

import numpy as np  # noqa: E402
import shapely  # noqa: E402

D_M = 15.0
LON0, LAT0 = 121.47, 31.23  # central Shanghai


def city(rng: np.random.Generator, n: int, extent_m: float) -> np.ndarray:
    """``n`` rotated rectangular footprints (8–40 m by 8–16 m) over a square city."""
    cx = rng.uniform(0, extent_m, n)
    cy = rng.uniform(0, extent_m, n)
    w = rng.uniform(8, 40, n) / 2
    h = rng.uniform(8, 16, n) / 2
    a = rng.uniform(0, np.pi, n)
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], dtype=float)
    lx = corners[None, :, 0] * w[:, None]
    ly = corners[None, :, 1] * h[:, None]
    x = cx[:, None] + lx * np.cos(a)[:, None] - ly * np.sin(a)[:, None]
    y = cy[:, None] + lx * np.sin(a)[:, None] + ly * np.cos(a)[:, None]
    return shapely.polygons(np.stack([x, y], axis=-1))


def day(
    rng: np.random.Generator, members: int, fixes: int, extent_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random walks (steps of ~5 m every 5 s, drifting heading), one per member: metres x, y
    and the member of each fix."""
    per = fixes // members
    heading = np.cumsum(rng.normal(0, 0.3, (members, per)), axis=1)
    step = rng.uniform(2.0, 8.0, (members, per))
    start = rng.uniform(0.1 * extent_m, 0.9 * extent_m, (members, 2))
    x = start[:, :1] + np.cumsum(step * np.cos(heading), axis=1)
    y = start[:, 1:] + np.cumsum(step * np.sin(heading), axis=1)
    owner = np.repeat(np.arange(members), per)
    return x.ravel(), y.ravel(), owner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--fixes", type=int, default=1_000_000)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--extent-km", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args()

    import geopandas as gpd

    from gis.crs import metric_transformers
    from gis.patrols.clean import segments_of
    from gis.patrols.visits import FootprintIndex, LocalMetres

    rng = np.random.default_rng(args.seed)
    extent = args.extent_km * 1000
    _, to_wgs84 = metric_transformers(lon=LON0, lat=LAT0)
    half = extent / 2
    polys = shapely.transform(city(rng, args.buildings, extent), lambda xy: xy - half)
    mx, my, owner = day(rng, args.members, args.fixes, extent)
    mx -= half
    my -= half
    # the fixes as phones send them: WGS-84 degrees (the projection back is part of the work)
    lon, lat = to_wgs84.transform(mx, my)
    lon = np.asarray(lon)
    lat = np.asarray(lat)
    breaks = np.zeros(len(mx), dtype=bool)
    breaks[np.searchsorted(owner, np.arange(args.members))] = True
    seg_i, seg_j = segments_of(breaks)
    n_fix, n_seg = len(mx), len(seg_i)
    print(
        f"data: {args.buildings:,} footprints over {args.extent_km:g} km x {args.extent_km:g} km, "
        f"{args.members} members, {n_fix:,} fixes, {n_seg:,} segments, visit distance {D_M} m"
    )

    # --- wangge ---------------------------------------------------------------------------
    FootprintIndex.build(polys[:10], pad_m=D_M)  # numba: compile or load the cache
    t0 = time.perf_counter()
    index = FootprintIndex.build(polys, pad_m=D_M)
    build_s = time.perf_counter() - t0
    # warm the kernel (numba compiles on first call or loads its cache) on a few segments
    index.query(mx, my, seg_i[:10], seg_j[:10], owner[seg_i[:10]], distance_m=D_M)
    local = LocalMetres(LON0, LAT0)
    local.points(lon[:10], lat[:10])
    ours_runs = []
    ours_cpu = []
    for _ in range(3):
        c0 = time.process_time()
        t0 = time.perf_counter()
        x, y = local.points(lon, lat)
        found = index.query(
            np.asarray(x), np.asarray(y), seg_i, seg_j, owner[seg_i], distance_m=D_M
        )
        ours_runs.append(time.perf_counter() - t0)
        ours_cpu.append(time.process_time() - c0)
    ours_s = min(ours_runs)
    ours = set(zip(found.owner.tolist(), found.building.tolist(), strict=True))
    x = np.asarray(x)
    y = np.asarray(y)
    segs = shapely.linestrings(
        np.stack([np.c_[x[seg_i], y[seg_i]], np.c_[x[seg_j], y[seg_j]]], axis=1)
    )
    seg_owner = owner[seg_i]

    # --- geopandas ------------------------------------------------------------------------
    left = gpd.GeoDataFrame({"patrol": seg_owner}, geometry=segs, crs=None)
    right = gpd.GeoDataFrame({"building": np.arange(len(polys))}, geometry=polys, crs=None)
    t0 = time.perf_counter()
    joined = gpd.sjoin(left, right, predicate="dwithin", distance=D_M)
    pairs = joined[["patrol", "building"]].drop_duplicates()
    gpd_s = time.perf_counter() - t0
    theirs_gpd = set(zip(pairs.patrol.tolist(), pairs.building.tolist(), strict=True))

    # --- PostGIS --------------------------------------------------------------------------
    with throwaway_db("patrols") as url:
        version = postgis_version(url)
        with pg_connect(url) as pg:
            pg.execute("CREATE TABLE bb (id int PRIMARY KEY, geom geometry(Polygon, 0))")
            pg.execute("CREATE TABLE ss (patrol int, geom geometry(LineString, 0))")
            for name, ids, geoms in (
                ("bb", np.arange(len(polys)), polys),
                ("ss", seg_owner, segs),
            ):
                buf = io.StringIO()
                for k, w in zip(ids.tolist(), shapely.to_wkb(geoms, hex=True), strict=True):
                    buf.write(f"{k}\t{w}\n")
                with pg.cursor().copy(f"COPY {name} FROM STDIN") as cp:
                    cp.write(buf.getvalue())
            pg.execute("CREATE INDEX ON bb USING gist (geom)")
            pg.execute("CREATE INDEX ON ss USING gist (geom)")
            pg.execute("ANALYZE bb")
            pg.execute("ANALYZE ss")
            pg.execute("SET jit = off")
            t0 = time.perf_counter()
            rows = pg.execute(
                "SELECT DISTINCT s.patrol, b.id FROM ss s JOIN bb b "
                "ON ST_DWithin(s.geom, b.geom, %s)",
                (D_M,),
            ).fetchall()
            pg_s = time.perf_counter() - t0
    theirs_pg = {(int(a), int(b)) for a, b in rows}

    # --- same answers ---------------------------------------------------------------------
    def differ(other: set[tuple[int, int]]) -> str:
        """(pairs that differ, of which not within 1 mm of the threshold)."""
        diff = ours ^ other
        hard = 0
        for p, b in diff:
            d = shapely.distance(segs[seg_owner == p], polys[b]).min()
            hard += abs(d - D_M) > 1e-3
        return f"{len(diff)} ({hard})"

    d_gpd = differ(theirs_gpd)
    d_pg = differ(theirs_pg)
    faster = min(gpd_s, pg_s)
    print(machine_line())
    print(version)
    print(
        table(
            ["method", "seconds", "pairs", "differ (beyond 1 mm)"],
            [
                [
                    "wangge grid + numba (projection + query)",
                    f"{ours_s:.3f}",
                    f"{len(ours):,}",
                    "-",
                ],
                ["  footprint index build (once)", f"{build_s:.3f}", "", ""],
                ["geopandas sjoin dwithin", f"{gpd_s:.3f}", f"{len(theirs_gpd):,}", f"{d_gpd}"],
                ["PostGIS ST_DWithin join", f"{pg_s:.3f}", f"{len(theirs_pg):,}", f"{d_pg}"],
            ],
        )
    )
    print(
        f"wangge runs: {', '.join(f'{t:.3f}' for t in ours_runs)} s wall (best shown); "
        f"CPU {', '.join(f'{t:.3f}' for t in ours_cpu)} s (a loaded box stretches wall time)"
    )
    print(
        f"visited buildings: {len({b for _, b in ours}):,} of {args.buildings:,}; "
        f"ratio to the faster peer: {faster / ours_s:.1f}x "
        f"(with the index build: {faster / (ours_s + build_s):.1f}x); target >= 5x, < 2 s"
    )
    same = d_gpd.endswith("(0)") and d_pg.endswith("(0)")
    print("same answers:", "yes" if same else "NO")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
