"""Assignment at city scale: big and hostile layers, nearest for points outside, buildings,
workers. Engine vs geopandas vs PostGIS in one run; prints figures, never asserts.

    .venv/bin/python bench/assign_scale.py [--quick] [--points N] [--skip-http]

(also run at the end of ``bench/assign.py`` unless ``--skip-scale``).

* layers (seeded, ``bench/_shapes.py``): Voronoi tilings of the Shanghai area with 20,000
  cells (303k vertices) and 100,000 cells (780k vertices); 3,000 long thin north-south strips;
  a dense tiling with a far exclave; one polygon with 1M vertices; 5,000 tiny polygons in one
  spot over a coarse tiling. For each: index build time (wall) and the process's peak RSS
  growth during the build (sampled every 2 ms) and the index's own arrays; lookup of N points
  uniform over the bbox (median of 3, one core) vs ``geopandas.sjoin(predicate="within")``
  (one run) vs PostGIS ``ST_Covers`` over ``ST_Subdivide(geom, 128)`` parts with a GiST index
  (a subset of points, time scaled to N); mismatches vs both (0 expected).
* nearest: the 252 townships, 100,000 points uniform over their bbox (about half outside):
  ``lookup`` + ``nearest`` in process vs the previous GEOS path (``STRtree.query_nearest`` on
  the metric polygons) on the same points, answers compared; then over HTTP
  (``POST /v1/assign/batch``, 1 worker) end to end, with the first-request latency.
* buildings: 100,000 footprints vs the 20,000-cell tiling: ``AreaIndex.polygon_shares`` vs a
  geopandas ``overlay``-based share computation (both include the projection to metres), the
  owners compared; then ``POST /v1/assign/buildings`` over HTTP.
* workers: ``wangge serve --workers 2`` on a Shanghai-wide micro-grid layer (45,000 cells:
  ~6,000 communities x 7.5), RSS of each worker after start-up, start-up time and the first
  request's latency.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import single_thread_env

single_thread_env()

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import AbstractContextManager, contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import _shapes as S  # noqa: E402
import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    TOWNSHIPS,
    ApiServer,
    admin_url,
    api_server,
    fmt_times,
    pg_connect,
    table,
    throwaway_db,
    timed,
)

from gis.assign.batch import gc_paused  # noqa: E402

SEED = 20241129


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MB (from /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Samples this process's RSS every 2 ms; yields a dict that gets ``peak_mb`` (growth over
    the RSS at entry)."""
    out = {"peak_mb": 0.0}
    base = rss_mb()
    stop = threading.Event()

    def sample() -> None:
        peak = base
        while not stop.is_set():
            peak = max(peak, rss_mb())
            time.sleep(0.002)
        out["peak_mb"] = max(peak, rss_mb()) - base

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()


def index_mb(index: Any) -> float:
    return (index._grid.nbytes + index._segments.nbytes) / 1e6


# ------------------------------------------------------------------------------ layers


def layers(quick: bool) -> list[tuple[str, Callable[[], S.Layer]]]:
    if quick:
        return [
            ("tiling 20k", lambda: S.voronoi_tiling(20_000, 360_000)),
            ("strips 1,000", lambda: S.strips(1000)),
            ("far exclave", lambda: S.far_exclave(2000, 40_000)),
            ("one polygon 300k vertices", lambda: S.one_big_polygon(300_000)),
            ("tiny polygons in one spot", lambda: S.tiny_in_one_cell(2000)),
        ]
    return [
        ("tiling 20k", lambda: S.voronoi_tiling(20_000, 360_000)),
        ("tiling 100k", lambda: S.voronoi_tiling(100_000, 1_040_000)),
        ("strips 3,000", lambda: S.strips(3000)),
        ("far exclave", S.far_exclave),
        ("one polygon 1M vertices", S.one_big_polygon),
        ("tiny polygons in one spot", S.tiny_in_one_cell),
    ]


def postgis_covers(url: str, geoms: list[Any], x: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
    """(seconds, owner index per point or -1) by ST_Covers on subdivided parts."""
    import shapely
    from assign import copy_points

    with pg_connect(url) as conn:
        conn.execute("CREATE UNLOGGED TABLE polys (idx int4, geom geometry)")
        with conn.cursor().copy("COPY polys (idx, geom) FROM STDIN") as cp:
            for i, wkb in enumerate(shapely.to_wkb(np.array(geoms, dtype=object), hex=True)):
                cp.write_row((i, wkb))
        conn.execute(
            "CREATE UNLOGGED TABLE parts AS SELECT idx, "
            "ST_SetSRID(ST_Subdivide(geom, 128), 4326) AS geom FROM polys"
        )
        conn.execute("CREATE INDEX ON parts USING gist (geom)")
        conn.execute("ANALYZE parts")
        copy_points(conn, x, y)
        conn.execute("SET max_parallel_workers_per_gather = 0")
        q = (
            "SELECT p.id, min(pa.idx) FROM pts p JOIN parts pa ON ST_Covers(pa.geom, p.geom) "
            "GROUP BY p.id"
        )
        conn.execute(q.replace("GROUP BY", "WHERE p.id < 1000 GROUP BY")).fetchall()
        t, rows = timed(lambda: conn.execute(q).fetchall())
    owner = np.full(len(x), -1, np.int64)
    for pid, idx in rows:
        owner[pid] = idx
    return t, owner


def bench_layer(label: str, make: Callable[[], S.Layer], n: int, pg_n: int, admin: str) -> dict:
    import geopandas
    import shapely

    from gis.assign.engine import AreaIndex

    codes, geoms = make()
    garr = np.array(geoms, dtype=object)
    r: dict[str, Any] = {"label": label, "areas": len(codes)}
    r["vertices"] = int(shapely.get_num_coordinates(garr).sum())
    AreaIndex.build(codes[:3], geoms[:3])  # kernels loaded before anything is timed
    with peak_rss() as mem:
        t0 = time.perf_counter()
        index = AreaIndex.build(codes, geoms)
        r["build_s"] = time.perf_counter() - t0
    r["peak_mb"] = mem["peak_mb"]
    r["index_mb"] = index_mb(index)
    r["grid"] = "x".join(map(str, index.grid_shape)) + f", {index._grid.n_refined} refined"
    rng = np.random.default_rng(SEED)
    b = index.bounds
    x, y = rng.uniform(b[0], b[2], n), rng.uniform(b[1], b[3], n)
    index.lookup(lon=x[:50_000], lat=y[:50_000])
    times = []
    for _ in range(3):
        t, lk = timed(lambda: index.lookup(lon=x, lat=y))
        times.append(t)
    r["lookup_s"], r["lookup_times"] = statistics.median(times), times
    r["exact"] = lk.n_exact
    pts = geopandas.GeoDataFrame(geometry=shapely.points(x, y), crs=4326)
    polys = geopandas.GeoDataFrame(
        {"area": np.arange(len(index))}, geometry=list(index.geometries), crs=4326
    )
    r["sjoin_s"], joined = timed(lambda: geopandas.sjoin(pts, polys, predicate="within"))
    sj = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(sj, joined.index.to_numpy(), joined["area"].to_numpy())
    inside = sj != np.iinfo(np.int64).max
    r["sjoin_mismatch"] = int((lk.owner[inside] != sj[inside]).sum())
    r["sjoin_checked"] = int(inside.sum())
    m = min(pg_n, n)
    with throwaway_db("scale", admin) as url:
        t_pg, pg_owner = postgis_covers(url, list(index.geometries), x[:m], y[:m])
    r["pg_s"] = t_pg * n / m
    r["pg_note"] = f"{m:,} points in {t_pg:.2f} s, scaled ×{n / m:.0f}"
    r["pg_mismatch"] = int((lk.owner[:m] != pg_owner).sum())
    print(
        f"  [{label}] build {r['build_s']:.2f} s, lookup {fmt_times(times)} s, sjoin "
        f"{r['sjoin_s']:.2f} s, PostGIS {r['pg_note']}",
        flush=True,
    )
    return r


# ------------------------------------------------------------------------------ nearest


def bench_nearest(n: int) -> dict[str, Any]:
    from gis.areas.reading import read_area_file
    from gis.assign.engine import AreaIndex

    src = read_area_file(TOWNSHIPS, code_field="id", name_field="name")
    index = AreaIndex.build([f.code for f in src.features], [f.geom for f in src.features])
    rng = np.random.default_rng(SEED + 1)
    b = index.bounds
    x, y = rng.uniform(b[0], b[2], n), rng.uniform(b[1], b[3], n)

    def both() -> tuple[Any, Any]:
        lk = index.lookup(lon=x, lat=y)
        out = np.flatnonzero(lk.owner < 0)
        return lk, index.nearest(lon=x[out], lat=y[out])

    both()
    times = []
    for _ in range(3):
        t, (lk, (near, dist)) = timed(both)
        times.append(t)
    out = np.flatnonzero(lk.owner < 0)
    px, py = index._to_metric.transform(x[out], y[out])
    t_geos, (g_near, g_dist) = timed(
        lambda: index._geos_nearest(np.asarray(px), np.asarray(py), None)
    )
    return {
        "n": n,
        "outside": int(out.size),
        "times": times,
        "engine_s": statistics.median(times),
        "geos_s": t_geos,
        "mismatch": int((g_near != near).sum() + (g_dist != dist).sum()),
        "source": src,
        "bounds": b,
        "x": x,
        "y": y,
        "near": near,
        "owner": lk.owner,
        "index": index,
    }


# --------------------------------------------------------------------------------- HTTP


def server(url: str, workers: int = 1) -> AbstractContextManager[ApiServer]:
    """``wangge serve --workers N`` against ``url`` (bodies up to 256 MB); yields the running
    API (base URL, process, seconds to the first healthy answer, admin key). Stopped on exit."""
    wangge = str(Path(sys.executable).parent / "wangge")
    return api_server(
        url,
        command=lambda port: [wangge, "serve", "--port", str(port), "--workers", str(workers)],
        env={"WANGGE_MAX_BODY_BYTES": str(256 << 20)},
        timeout_s=300,
        quiet=True,
    )


def load_layer(url: str, codes: list[str], geoms: list[Any], level: str) -> None:
    """Import a generated layer through wangge's own reader and importer, and activate it."""
    import geopandas

    from gis.areas.importer import import_areas
    from gis.areas.reading import read_area_file
    from gis.store.db import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.geojson"
        frame = geopandas.GeoDataFrame({"code": codes, "name": codes}, geometry=geoms, crs=4326)
        frame.to_file(path, driver="GeoJSON")
        src = read_area_file(path, code_field="code", name_field="name")
    engine = make_engine(url)
    with engine.begin() as conn:
        import_areas(conn, src, level=level, description="bench", activate=True)
    engine.dispose()


def first_request(api: ApiServer, lon: float, lat: float) -> tuple[float, float]:
    """Seconds of the server's first and second ``GET /v1/assign``, on a client already
    connected and signed in (through ``/v1/me``: checking a key the first time is a
    deliberately slow scrypt hash, which has nothing to do with assignment), so neither
    client set-up nor the key check is counted."""
    import httpx

    with httpx.Client(base_url=api.base, headers=api.headers, timeout=30) as client:
        client.get("/v1/me").raise_for_status()
        times = []
        for _ in range(2):
            t, r = timed(lambda: client.get("/v1/assign", params={"lon": lon, "lat": lat}))
            r.raise_for_status()
            times.append(t)
    return times[0], times[1]


def post(api: ApiServer, path: str, body: bytes) -> tuple[float, Any]:
    import httpx
    import orjson

    def once() -> Any:
        r = httpx.post(
            api.base + path,
            content=body,
            headers={**api.headers, "content-type": "application/json"},
            timeout=300,
        )
        r.raise_for_status()
        # decoded with the cyclic GC paused, as a lean client would: this process holds the
        # benchmark's layers, and full collections over them are not the API's cost
        with gc_paused():
            return orjson.loads(r.content)

    once()
    times = []
    for _ in range(3):
        t, data = timed(once)
        times.append(t)
    return statistics.median(times), data


def http_nearest(admin: str, nr: dict[str, Any]) -> dict[str, Any]:
    import orjson

    from gis.areas.importer import import_areas
    from gis.store.db import make_engine

    out: dict[str, Any] = {}
    with throwaway_db("scalehttp", admin) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            import_areas(conn, nr["source"], level="street", description="bench", activate=True)
        engine.dispose()
        with server(url) as api:
            out["start_s"] = api.start_s
            b = nr["bounds"]
            first, second = first_request(api, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
            out["first_ms"], out["second_ms"] = 1e3 * first, 1e3 * second
            pts = [
                {"id": i, "lon": a, "lat": c}
                for i, (a, c) in enumerate(zip(nr["x"].tolist(), nr["y"].tolist(), strict=True))
            ]

            def run() -> Any:
                return post(api, "/v1/assign/batch", orjson.dumps({"points": pts}))

            out["batch_s"], data = run()
            codes = nr["index"].codes
            want = [codes[o] if o >= 0 else None for o in nr["owner"].tolist()]
            got = [r["owner"] for r in data["results"]]
            outside = np.flatnonzero(nr["owner"] < 0)
            near_want = [codes[j] for j in nr["near"].tolist()]
            near_got = [data["results"][i]["nearest"]["code"] for i in outside.tolist()]
            out["mismatch"] = sum(a != b for a, b in zip(got, want, strict=True)) + sum(
                a != b for a, b in zip(near_got, near_want, strict=True)
            )
    return out


# ------------------------------------------------------------------------------ buildings


def bench_buildings(admin: str, n: int, skip_http: bool) -> dict[str, Any]:
    import geopandas
    import orjson
    import shapely

    from gis.assign.engine import AreaIndex
    from gis.crs import local_metric_crs

    codes, grids = S.voronoi_tiling(20_000, 360_000)
    index = AreaIndex.build(codes, grids)
    footprints = S.buildings(n)
    out: dict[str, Any] = {"n": n, "areas": len(codes)}
    index.polygon_shares(footprints[:100])
    out["engine_s"], shares = timed(lambda: index.polygon_shares(footprints))
    b = index.bounds
    crs = local_metric_crs(lon=(b[0] + b[2]) / 2, lat=(b[1] + b[3]) / 2)

    def overlay() -> np.ndarray:
        bf = geopandas.GeoDataFrame({"bid": np.arange(n)}, geometry=footprints, crs=4326)
        gf = geopandas.GeoDataFrame(
            {"gid": np.arange(len(index))}, geometry=list(index.geometries), crs=4326
        )
        bf, gf = bf.to_crs(crs), gf.to_crs(crs)
        ov = geopandas.overlay(bf, gf, how="intersection", keep_geom_type=True)
        ov["share"] = ov.geometry.area.to_numpy() / bf.geometry.area.to_numpy()[ov["bid"]]
        ov = ov.sort_values(["bid", "share", "gid"], ascending=[True, False, True])
        first = ov.drop_duplicates("bid")
        owner = np.full(n, -1, np.int64)
        owner[first["bid"].to_numpy()] = first["gid"].to_numpy()
        return owner

    out["overlay_s"], ov_owner = timed(overlay)
    eng_owner = np.array([s[0][0] if s else -1 for s in shares])
    out["split"] = sum(len(s) > 1 for s in shares)
    # owners may legitimately differ only where two shares tie to rounding (none expected)
    out["mismatch"] = int((eng_owner != ov_owner).sum())
    if not skip_http:
        with throwaway_db("scalebld", admin) as url:
            load_layer(url, codes, grids, "micro_grid")
            with server(url) as api:
                feats = [
                    {"type": "Feature", "id": i, "geometry": shapely.geometry.mapping(g)}
                    for i, g in enumerate(footprints)
                ]
                body = orjson.dumps({"type": "FeatureCollection", "features": feats})
                out["http_s"], data = post(api, "/v1/assign/buildings", body)
                got = [r["owner"]["code"] if r.get("owner") else None for r in data["results"]]
                want = [codes[index.input_order[o]] if o >= 0 else None for o in eng_owner]
                out["http_mismatch"] = sum(a != c for a, c in zip(got, want, strict=True))
                out["http_mb"] = len(body) / 1e6
    return out


# -------------------------------------------------------------------------------- workers


def bench_workers(admin: str, quick: bool) -> dict[str, Any]:
    from gis.assign.engine import AreaIndex

    n_cells = 15_000 if quick else 45_000
    codes, geoms = S.voronoi_tiling(n_cells, n_cells * 15, seed=7)
    out: dict[str, Any] = {"areas": len(codes)}
    index = AreaIndex.build(codes, geoms)
    out["index_mb"] = index_mb(index)
    b = index.bounds
    with throwaway_db("scalewrk", admin) as url:
        load_layer(url, codes, geoms, "micro_grid")
        with server(url, workers=2) as api:
            proc = api.proc
            out["start_s"] = api.start_s
            first, second = first_request(api, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
            out["first_ms"], out["second_ms"] = 1e3 * first, 1e3 * second
            time.sleep(1.0)
            kids = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            # uvicorn's multiprocess manager also starts a tiny resource tracker: keep the
            # processes that hold an index (RSS well above an idle interpreter)
            out["worker_mb"] = sorted(rss_mb(k) for k in kids)
            out["master_mb"] = rss_mb(proc.pid)
    return out


# ---------------------------------------------------------------------------------- main


def run(quick: bool, points: int | None, skip_http: bool) -> None:
    t_start = time.perf_counter()
    n = points or (200_000 if quick else 1_000_000)
    pg_n = 20_000 if quick else 50_000
    admin = admin_url()
    print(f"SCALE: layers ({'quick' if quick else 'full'}), {n:,} points each …", flush=True)
    res = [bench_layer(label, make, n, pg_n, admin) for label, make in layers(quick)]
    print("SCALE: nearest …", flush=True)
    nr = bench_nearest(100_000)
    hn = None if skip_http else http_nearest(admin, nr)
    print("SCALE: buildings …", flush=True)
    bl = bench_buildings(admin, 20_000 if quick else 100_000, skip_http)
    wk = None if skip_http else bench_workers(admin, quick)

    print()
    print("=" * 86)
    print("ASSIGNMENT AT CITY SCALE — AreaIndex vs geopandas vs PostGIS (one core each)")
    print("=" * 86)
    rows = []
    for r in res:
        rows.append(
            [
                r["label"],
                f"{r['areas']:,}",
                f"{r['vertices']:,}",
                f"{r['build_s']:.2f} s",
                f"{r['peak_mb']:.0f} / {r['index_mb']:.0f} MB",
                f"{r['lookup_s'] * 1e3:.0f} ms",
                f"{n / r['lookup_s'] / 1e6:.1f} M/s",
                f"{r['sjoin_s']:.2f} s",
                f"{r['pg_s']:.1f} s",
                f"{r['sjoin_s'] / r['lookup_s']:.1f}×",
                f"{r['pg_s'] / r['lookup_s']:.0f}×",
                f"{r['sjoin_mismatch']} / {r['pg_mismatch']}",
            ]
        )
    print(
        table(
            [
                "layer",
                "areas",
                "vertices",
                "build",
                "peak RSS / index",
                f"lookup {n // 1000}k",
                "rate",
                "sjoin",
                "PostGIS*",
                "sjoin/eng",
                "PG/eng",
                "mismatch sj/PG",
            ],
            rows,
        )
    )
    print("* PostGIS: a subset of the points, time scaled linearly (see per-layer notes)")
    for r in res:
        print(
            f"  {r['label']}: grid {r['grid']}; lookups {fmt_times(r['lookup_times'])} s, "
            f"{r['exact']} via GEOS; sjoin checked {r['sjoin_checked']:,} inside points; "
            f"PostGIS {r['pg_note']}"
        )
    print(
        f"nearest, townships, {nr['n']:,} points ({nr['outside']:,} outside): lookup+nearest "
        f"median {nr['engine_s'] * 1e3:.0f} ms {fmt_times(nr['times'])}; previous GEOS path "
        f"{nr['geos_s']:.2f} s for the outside points alone → {nr['geos_s'] / nr['engine_s']:.0f}×"
        f"; mismatches (code or distance bits) {nr['mismatch']}"
    )
    if hn:
        print(
            f"  over HTTP (POST /v1/assign/batch, 1 worker): median {hn['batch_s']:.2f} s end "
            f"to end; mismatches {hn['mismatch']}; server start {hn['start_s']:.1f} s, first "
            f"request {hn['first_ms']:.1f} ms (second {hn['second_ms']:.1f} ms)"
        )
    print(
        f"buildings: {bl['n']:,} footprints vs {bl['areas']:,} grids: polygon_shares "
        f"{bl['engine_s']:.2f} s, geopandas overlay {bl['overlay_s']:.2f} s → "
        f"{bl['overlay_s'] / bl['engine_s']:.1f}×; {bl['split']:,} split; owner mismatches "
        f"{bl['mismatch']}"
    )
    if "http_s" in bl:
        print(
            f"  over HTTP (POST /v1/assign/buildings, {bl['http_mb']:.0f} MB body): median "
            f"{bl['http_s']:.2f} s; owner mismatches {bl['http_mismatch']}"
        )
    if wk:
        print(
            f"workers: Shanghai-wide micro-grid layer {wk['areas']:,} areas: index arrays "
            f"{wk['index_mb']:.0f} MB; "
            f"`wangge serve --workers 2`: healthy after {wk['start_s']:.1f} s, first request "
            f"{wk['first_ms']:.1f} ms (second {wk['second_ms']:.1f} ms); RSS per process "
            + ", ".join(f"{m:.0f} MB" for m in wk["worker_mb"])
            + f" (master {wk['master_mb']:.0f} MB)"
        )
    print(f"scale benchmark time {time.perf_counter() - t_start:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller layers and 200k points")
    ap.add_argument("--points", type=int, default=None)
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()
    run(args.quick, args.points, args.skip_http)


if __name__ == "__main__":
    main()
