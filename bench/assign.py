"""Assignment benchmark: wangge's AreaIndex vs geopandas.sjoin vs a PostGIS join, then the
real HTTP API (single-point latency under load, 100k-point batch).

    .venv/bin/python bench/assign.py [--points 1000000] [--rate 500] [--seconds 20]
                                     [--wait-demo SECONDS] [--skip-http]

Polygon sets: (i) the demo street's micro-grids (data/boundaries/micro_grids.geojson) and
(ii) the 252 Shanghai townships (../shared/data, read in place). Both are read through
wangge's own reader (validated, repaired); the engine, sjoin and PostGIS all see those same
geometries. Points: the same N points per set (fixed seed): 90 % uniform over the polygons'
bounding box, 10 % within ~1 m (Gaussian, sigma 1e-5 degrees) of a random point on a random
ring edge (length-weighted), shuffled.

* engine: ``AreaIndex.lookup`` on ONE core (NUMBA/OMP/BLAS threads pinned to 1 before any
  import; the kernels are single-threaded anyway), after a warm-up lookup, so numba
  compilation / cache loading is excluded; median of 11. Index build: median of 7.
* sjoin: ``geopandas.sjoin(points_gdf, polys_gdf, predicate="within")`` (GEOS STRtree;
  single-threaded), points GeoDataFrame prebuilt and not timed; median of 3.
* PostGIS: polygons imported with wangge's importer into a throwaway database (areas +
  area_parts with ST_Subdivide); points COPYed (binary) into an UNLOGGED table;
  ``SET max_parallel_workers_per_gather = 0``; the timed statement is
  ``SELECT p.id, min(a.code COLLATE "C") FROM pts p JOIN area_parts ap ON
  ST_Covers(ap.geom, p.geom) JOIN areas a ON a.id = ap.area_id GROUP BY p.id`` with all rows
  fetched by the client. A 100k-point subset is run first; if it predicts more than 120 s for
  all points, the figure is the subset's time scaled linearly (and said so).
* checks: engine owner == sjoin's (smallest-code) polygon for every point sjoin places
  strictly inside a polygon, and engine owner == PostGIS min(code) for every point (points
  PostGIS puts nowhere must have no owner). 0 mismatches expected.
* HTTP: uvicorn (one worker, ``--factory api.app:app_from_env``) in a subprocess on
  127.0.0.1, WANGGE_DATABASE_URL = a throwaway DB holding the demo street (activated). (a) an
  open-loop generator (separate process, asyncio + httpx, keep-alive) sends GET /v1/assign at
  a fixed rate for a fixed time, bounded in count and time; latency = request start to
  response end; (b) a 100,000-point POST /v1/assign/batch end to end incl. orjson
  encode/decode, median of 5.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import single_thread_env

single_thread_env()  # before numpy / numba / shapely are imported

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    DEMO_DATA,
    TOWNSHIPS,
    admin_url,
    api_server,
    demo_area_files,
    fmt_times,
    machine_line,
    pg_connect,
    postgis_version,
    table,
    throwaway_db,
    timed,
    wait_for_file,
)

SEED = 20240601
NEAR_SHARE = 0.10
NEAR_SIGMA_DEG = 1e-5
PG_LIMIT_S = 120.0
PG_SUBSET = 100_000


@dataclass
class SetResult:
    label: str
    n_areas: int
    n_vertices: int
    n_points: int
    build_s: float = 0.0
    build_times: list[float] = field(default_factory=list)
    cold_s: float = 0.0
    grid: str = ""
    lookup_s: float = 0.0
    lookup_times: list[float] = field(default_factory=list)
    n_exact: int = 0
    covered: int = 0
    multi: int = 0
    sjoin_s: float = 0.0
    sjoin_times: list[float] = field(default_factory=list)
    gdf_s: float = 0.0
    sjoin_checked: int = 0
    sjoin_mismatch: int = 0
    sjoin_only_engine: int = 0
    pg_s: float = 0.0
    pg_note: str = ""
    pg_checked: int = 0
    pg_mismatch: int = 0
    pg_plan: str = ""
    pg_parts: int = 0
    pg_load_s: float = 0.0
    pg_import_s: float = 0.0


# ------------------------------------------------------------------------------ points


def make_points(geoms: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points: uniform over the bbox plus a share near ring edges; shuffled."""
    import shapely

    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    n_near = round(n * NEAR_SHARE)
    n_uni = n - n_near
    x = rng.uniform(minx, maxx, n_uni)
    y = rng.uniform(miny, maxy, n_uni)
    rings = shapely.get_rings(shapely.get_parts(geoms))
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    length = np.hypot(*(b - a).T)
    edge = rng.choice(len(a), size=n_near, p=length / length.sum())
    t = rng.uniform(0.0, 1.0, n_near)
    px = a[edge, 0] + t * (b[edge, 0] - a[edge, 0]) + rng.normal(0, NEAR_SIGMA_DEG, n_near)
    py = a[edge, 1] + t * (b[edge, 1] - a[edge, 1]) + rng.normal(0, NEAR_SIGMA_DEG, n_near)
    x = np.concatenate([x, px])
    y = np.concatenate([y, py])
    perm = rng.permutation(n)
    return np.ascontiguousarray(x[perm]), np.ascontiguousarray(y[perm])


# ---------------------------------------------------------------------- engine / sjoin


def bench_engine(
    res: SetResult,
    codes: list[str],
    geoms: list[Any],
    names: list[str],
    x: np.ndarray,
    y: np.ndarray,
) -> Any:
    from gis.assign.engine import AreaIndex

    # cold: first build + first lookup in this process (numba cache load / compile)
    t0 = time.perf_counter()
    index = AreaIndex.build(codes, geoms, names)
    index.lookup(lon=x[:1000], lat=y[:1000])
    res.cold_s = time.perf_counter() - t0
    builds = []
    for _ in range(7):
        t, index = timed(lambda: AreaIndex.build(codes, geoms, names))
        builds.append(t)
    res.build_s, res.build_times = statistics.median(builds), builds
    rows, cols = index.grid_shape
    res.grid = f"{rows}x{cols}"
    index.lookup(lon=x[:100_000], lat=y[:100_000])  # warm-up
    times = []
    lk = None
    for _ in range(11):
        t, lk = timed(lambda: index.lookup(lon=x, lat=y))
        times.append(t)
    res.lookup_s, res.lookup_times = statistics.median(times), times
    assert lk is not None
    res.n_exact = lk.n_exact
    res.covered = int((lk.owner >= 0).sum())
    res.multi = int((lk.n_covering > 1).sum())
    return index, lk


def bench_sjoin(res: SetResult, index: Any, lk: Any, x: np.ndarray, y: np.ndarray) -> None:
    import geopandas
    import shapely

    t0 = time.perf_counter()
    points = geopandas.GeoDataFrame(
        {"pid": np.arange(len(x))}, geometry=shapely.points(x, y), crs="EPSG:4326"
    )
    res.gdf_s = time.perf_counter() - t0
    polys = geopandas.GeoDataFrame(
        {"area": np.arange(len(index)), "code": list(index.codes)},
        geometry=list(index.geometries),
        crs="EPSG:4326",
    )
    geopandas.sjoin(points.iloc[:50_000], polys, predicate="within")  # warm-up
    times = []
    joined = None
    for _ in range(3):
        t, joined = timed(lambda: geopandas.sjoin(points, polys, predicate="within"))
        times.append(t)
    res.sjoin_s, res.sjoin_times = statistics.median(times), times
    assert joined is not None
    pid = joined["pid"].to_numpy()
    area = joined["area"].to_numpy()
    sj_owner = np.full(len(x), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(sj_owner, pid, area)  # smallest code = smallest index (codes sorted)
    inside = sj_owner != np.iinfo(np.int64).max
    res.sjoin_checked = int(inside.sum())
    res.sjoin_mismatch = int((lk.owner[inside] != sj_owner[inside]).sum())
    # informative: covered by the engine (covers) but strictly inside nothing (on a border)
    res.sjoin_only_engine = int(((lk.owner >= 0) & ~inside).sum())


# ----------------------------------------------------------------------------- PostGIS


def copy_points(conn: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Binary COPY of (id int4, x float8, y float8) into pts_raw, then a geometry table."""
    n = len(x)
    rec = np.empty(
        n,
        dtype=[
            ("nf", ">i2"),
            ("l1", ">i4"),
            ("id", ">i4"),
            ("l2", ">i4"),
            ("x", ">f8"),
            ("l3", ">i4"),
            ("y", ">f8"),
        ],
    )
    rec["nf"], rec["l1"], rec["l2"], rec["l3"] = 3, 4, 8, 8
    rec["id"] = np.arange(n)
    rec["x"], rec["y"] = x, y
    payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + rec.tobytes() + b"\xff\xff"
    with conn.cursor() as cur:
        cur.execute("CREATE UNLOGGED TABLE pts_raw (id int4, x float8, y float8)")
        with cur.copy("COPY pts_raw (id, x, y) FROM STDIN (FORMAT BINARY)") as cp:
            step = 1 << 24
            for i in range(0, len(payload), step):
                cp.write(payload[i : i + step])
        cur.execute(
            "CREATE UNLOGGED TABLE pts AS SELECT id, "
            "ST_SetSRID(ST_MakePoint(x, y), 4326)::geometry(Point, 4326) AS geom "
            "FROM pts_raw ORDER BY id"
        )
        cur.execute("ALTER TABLE pts ADD PRIMARY KEY (id)")
        cur.execute("DROP TABLE pts_raw")
        cur.execute("ANALYZE pts")


PG_QUERY = (
    'SELECT p.id, min(a.code COLLATE "C") FROM pts p '
    "JOIN area_parts ap ON ST_Covers(ap.geom, p.geom) "
    "JOIN areas a ON a.id = ap.area_id {where} GROUP BY p.id"
)


def bench_postgis(
    res: SetResult,
    url: str,
    source: Any,
    level: str,
    index: Any,
    lk: Any,
    x: np.ndarray,
    y: np.ndarray,
) -> None:
    from gis.areas.importer import import_areas
    from gis.store.db import make_engine

    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        import_areas(conn, source, level=level, description="bench")
    res.pg_import_s = time.perf_counter() - t0
    engine.dispose()
    with pg_connect(url) as conn:
        t0 = time.perf_counter()
        copy_points(conn, x, y)
        res.pg_load_s = time.perf_counter() - t0
        conn.execute("SET max_parallel_workers_per_gather = 0")
        res.pg_parts = conn.execute("SELECT count(*) FROM area_parts").fetchone()[0]
        sub_where = f"WHERE p.id < {PG_SUBSET}"
        plan = conn.execute("EXPLAIN (COSTS OFF) " + PG_QUERY.format(where="")).fetchall()
        res.pg_plan = " / ".join(
            r[0].replace("->", "").strip()
            for r in plan
            if not r[0]
            .lstrip()
            .startswith(
                ("Index Cond", "Filter", "Group Key", "Cache Key", "Cache Mode", "Sort Key")
            )
        )
        # warm the caches with a small run, then the subset
        conn.execute(PG_QUERY.format(where="WHERE p.id < 5000")).fetchall()
        n = len(x)
        t_sub, rows_sub = timed(lambda: conn.execute(PG_QUERY.format(where=sub_where)).fetchall())
        predicted = t_sub * n / min(PG_SUBSET, n)
        if predicted <= PG_LIMIT_S:
            t_all, rows = timed(lambda: conn.execute(PG_QUERY.format(where="")).fetchall())
            res.pg_s = t_all
            res.pg_note = (
                f"all {n:,} points, one run (the {PG_SUBSET:,}-point subset took {t_sub:.2f} s)"
            )
            checked = n
        else:
            rows = rows_sub
            res.pg_s = predicted
            res.pg_note = (
                f"SCALED: {PG_SUBSET:,}-point subset took {t_sub:.2f} s; "
                f"×{n / PG_SUBSET:.0f} → {predicted:.1f} s predicted for {n:,}"
            )
            checked = min(PG_SUBSET, n)
        conn.execute("DROP TABLE pts")
    code_to_idx = {c: i for i, c in enumerate(index.codes)}
    pg_owner = np.full(checked, -1, np.int32)
    if rows:
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        own = np.fromiter((code_to_idx[r[1]] for r in rows), np.int32, len(rows))
        pg_owner[ids] = own
    res.pg_checked = checked
    res.pg_mismatch = int((lk.owner[:checked] != pg_owner).sum())


# -------------------------------------------------------------------------------- HTTP


MAX_CONNS = 256
KEY_ENV = "WANGGE_BENCH_API_KEY"  # hands the API key to the load generator process
WARMUP_S = 5.0  # open-loop warm-up at the same rate before each measured GET run


def loadgen_main(argv: list[str]) -> None:
    """Child process: open-loop GET /v1/assign at a fixed rate; prints one JSON line.

    Request ``i`` is due at ``t0 + i / rate`` whatever happened to earlier ones (open loop).
    ``raw`` client: asyncio streams speaking HTTP/1.1 keep-alive directly (tens of µs of
    client CPU per request, so the client does not starve the server on a 2-core box);
    ``httpx`` client: httpx.AsyncClient. At most MAX_CONNS connections; a request that finds
    none idle waits for one (that wait counts in its latency).
    """
    import asyncio
    from urllib.parse import urlsplit

    base, rate, seconds = argv[0], float(argv[1]), float(argv[2])
    bbox, client_kind, warm_s = json.loads(argv[3]), argv[4], float(argv[5])
    key = os.environ[KEY_ENV]  # the API key: from the environment, never on a command line
    n = int(rate * seconds)
    n_warm = int(rate * warm_s)
    rng = np.random.default_rng(SEED + 7)
    lon = rng.uniform(bbox[0], bbox[2], n_warm + n).tolist()
    lat = rng.uniform(bbox[1], bbox[3], n_warm + n).tolist()
    paths = [f"/v1/assign?lon={a!r}&lat={b!r}" for a, b in zip(lon, lat, strict=True)]
    u = urlsplit(base)
    host, port = str(u.hostname), int(u.port or 80)

    async def run() -> dict[str, Any]:
        idle: asyncio.Queue[Any] = asyncio.Queue()
        opened = 0

        if client_kind == "httpx":
            import httpx

            hx = httpx.AsyncClient(
                base_url=base,
                headers={"X-API-Key": key},
                timeout=httpx.Timeout(10.0),
                limits=httpx.Limits(max_connections=MAX_CONNS, max_keepalive_connections=MAX_CONNS),
            )

            async def send(i: int) -> int:
                r = await hx.get(paths[i])
                return r.status_code
        else:

            async def get_conn() -> Any:
                nonlocal opened
                if idle.empty() and opened < MAX_CONNS:
                    opened += 1
                    return await asyncio.open_connection(host, port)
                return await idle.get()

            async def send(i: int) -> int:
                conn = await get_conn()
                reader, writer = conn
                writer.write(
                    f"GET {paths[i]} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"X-API-Key: {key}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                idle.put_nowait(conn)
                return int(head[9:12])

        async def phase(first: int, count: int) -> dict[str, Any]:
            svc = [float("nan")] * count  # request start -> response read
            e2e = [float("nan")] * count  # scheduled time -> response read
            late = [0.0] * count  # scheduled time -> task start (generator health)
            status = [0] * count

            async def one(k: int, scheduled: float) -> None:
                start = time.perf_counter()
                late[k] = start - scheduled
                try:
                    status[k] = await send(first + k)
                except Exception:
                    status[k] = -1
                end = time.perf_counter()
                svc[k], e2e[k] = end - start, end - scheduled

            tasks = []
            t0 = time.perf_counter() + 0.05
            for k in range(count):
                scheduled = t0 + k / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(k, scheduled)))
            sent_end = time.perf_counter()
            _done, pending = await asyncio.wait(tasks, timeout=30.0)
            for t in pending:
                t.cancel()
            end = time.perf_counter()
            ok = [k for k in range(count) if status[k] == 200]
            s_ok = [svc[k] for k in ok]
            e_ok = [e2e[k] for k in ok]

            def pct(v: list[float], q: float) -> float:
                return 1e3 * float(np.percentile(v, q)) if v else float("nan")

            return {
                "n": count,
                "ok": len(ok),
                "errors": count - len(ok),
                "statuses": sorted({s for s in status if s != 200}),
                "pending": len(pending),
                "send_rate": count / (sent_end - t0),
                "done_rate": len(ok) / (end - t0),
                "p50_ms": pct(s_ok, 50),
                "p90_ms": pct(s_ok, 90),
                "p99_ms": pct(s_ok, 99),
                "max_ms": 1e3 * max(s_ok) if s_ok else float("nan"),
                "e2e_p50_ms": pct(e_ok, 50),
                "e2e_p99_ms": pct(e_ok, 99),
                "late_p99_ms": pct(late, 99),
            }

        warm = await phase(0, n_warm) if n_warm else None
        await asyncio.sleep(1.0)
        result = await phase(n_warm, n)
        if client_kind == "httpx":
            await hx.aclose()
        result.update(
            client=client_kind, conns=opened if client_kind != "httpx" else None, warmup=warm
        )
        return result

    print(json.dumps(asyncio.run(run())))


def bench_http(
    url: str,
    bbox: tuple[float, float, float, float],
    loads: list[tuple[float, float, str]],
    batch_n: int,
    index: Any,
) -> dict[str, Any]:
    import httpx
    import orjson

    out: dict[str, Any] = {}
    with api_server(url, timeout_s=90) as api:
        base = api.base
        r = httpx.get(base + "/healthz", timeout=10)
        if not r.json().get("generation"):
            raise RuntimeError("the API server has no current generation to assign against")
        out["health"] = r.json()
        # closed-loop baseline: one connection, one request at a time
        rng = np.random.default_rng(SEED + 5)
        qx = rng.uniform(bbox[0], bbox[2], 600).tolist()
        qy = rng.uniform(bbox[1], bbox[3], 600).tolist()
        with httpx.Client(base_url=base, headers=api.headers, timeout=10) as client:
            seq = []
            for i in range(600):
                t0 = time.perf_counter()
                client.get("/v1/assign", params={"lon": qx[i], "lat": qy[i]}).raise_for_status()
                seq.append(time.perf_counter() - t0)
        seq = seq[100:]  # first 100: warm-up
        out["seq_p50"] = 1e3 * float(np.percentile(seq, 50))
        out["seq_p99"] = 1e3 * float(np.percentile(seq, 99))
        out["seq_rate"] = len(seq) / sum(seq)
        # (a) open-loop single-point load, each run in a separate process
        out["loads"] = []
        for rate, seconds, client in loads:
            gen = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--loadgen",
                    base,
                    str(rate),
                    str(seconds),
                    json.dumps(list(bbox)),
                    client,
                    str(WARMUP_S),
                ],
                capture_output=True,
                text=True,
                timeout=seconds + WARMUP_S + 150,
                env={**os.environ, KEY_ENV: api.key},
            )
            if gen.returncode != 0:
                raise RuntimeError(f"load generator failed:\n{gen.stderr[-2000:]}")
            ld = json.loads(gen.stdout.strip().splitlines()[-1])
            ld.update(rate=rate, seconds=seconds)
            out["loads"].append(ld)
            print(
                f"  load {client} {rate:.0f}/s × {seconds:.0f} s: p50 {ld['p50_ms']:.2f} ms, "
                f"p99 {ld['p99_ms']:.2f} ms, errors {ld['errors']}",
                flush=True,
            )
            time.sleep(2.0)  # let the server drain
        # (b) 100k-point batch, end to end
        rng = np.random.default_rng(SEED + 11)
        bx = rng.uniform(bbox[0], bbox[2], batch_n)
        by = rng.uniform(bbox[1], bbox[3], batch_n)
        pts = [
            {"id": i, "lon": float(a), "lat": float(b)}
            for i, (a, b) in enumerate(zip(bx.tolist(), by.tolist(), strict=True))
        ]
        from gis.assign.batch import gc_paused

        with httpx.Client(base_url=base, headers=api.headers, timeout=120) as client:

            def once() -> tuple[dict[str, Any], float, float, float, int]:
                t0 = time.perf_counter()
                body = orjson.dumps({"points": pts})
                t1 = time.perf_counter()
                r = client.post(
                    "/v1/assign/batch", content=body, headers={"content-type": "application/json"}
                )
                t2 = time.perf_counter()
                r.raise_for_status()
                with gc_paused():  # as a lean client would (see assign_scale.post)
                    data = orjson.loads(r.content)
                t3 = time.perf_counter()
                return data, t1 - t0, t2 - t1, t3 - t2, len(r.content)

            once()  # warm-up
            runs = []
            for _ in range(5):
                t, (data, enc, req, dec, size) = timed(once)
                runs.append((t, enc, req, dec, size))
        out["batch_times"] = [r[0] for r in runs]
        out["batch_s"] = statistics.median(out["batch_times"])
        out["batch_enc"] = statistics.median(r[1] for r in runs)
        out["batch_req"] = statistics.median(r[2] for r in runs)
        out["batch_dec"] = statistics.median(r[3] for r in runs)
        out["batch_bytes"] = runs[0][4]
        out["batch_req_bytes"] = len(orjson.dumps({"points": pts}))
        # check the batch owners against the in-process engine
        lk = index.lookup(lon=bx, lat=by)
        got = [res.get("owner") for res in data["results"]]  # compact: owner is a code
        want = [index.codes[o] if o >= 0 else None for o in lk.owner.tolist()]
        out["batch_mismatch"] = sum(g != w for g, w in zip(got, want, strict=True))
        out["batch_outside"] = int((lk.owner < 0).sum())
    return out


# -------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument(
        "--extra-rate",
        type=float,
        default=250.0,
        help="also run the GET load at this rate for 10 s (0: no)",
    )
    ap.add_argument(
        "--also-httpx",
        action="store_true",
        help="also drive the main rate with an httpx.AsyncClient generator (10 s)",
    )
    ap.add_argument(
        "--wait-demo",
        type=float,
        default=0.0,
        help="seconds to wait for data/boundaries/micro_grids.geojson to appear",
    )
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-scale", action="store_true", help="skip bench/assign_scale.py")
    ap.add_argument(
        "--quick", action="store_true", help="scale part: smaller layers and 200k points"
    )
    args = ap.parse_args()
    t_start = time.perf_counter()

    import shapely

    from gis.areas.reading import read_area_file

    demo_levels = demo_area_files()
    mg_path = DEMO_DATA / "micro_grids.geojson"
    if not mg_path.exists() and args.wait_demo > 0:
        print(f"waiting up to {args.wait_demo:.0f} s for {mg_path} …", flush=True)
        if wait_for_file(mg_path, args.wait_demo):
            time.sleep(2.0)
    demo_ready = all((DEMO_DATA / name).exists() for _, name in demo_levels)

    sets: list[tuple[str, str, Any]] = []
    if mg_path.exists():
        # no parent field: the micro-grids alone (the PostGIS DB then holds only them)
        sets.append(
            (
                "demo micro-grids",
                "micro_grid",
                read_area_file(mg_path, code_field="code", name_field="name"),
            )
        )
    sets.append(
        (
            "Shanghai townships",
            "street",
            read_area_file(TOWNSHIPS, code_field="id", name_field="name"),
        )
    )

    admin = admin_url()
    results: list[SetResult] = []
    mg_index = None
    pg_version = ""
    for label, level, source in sets:
        codes = [f.code for f in source.features]
        geoms = [f.geom for f in source.features]
        names = [f.name or "" for f in source.features]
        garr = np.array(geoms, dtype=object)
        res = SetResult(
            label, len(codes), int(shapely.get_num_coordinates(garr).sum()), args.points
        )
        x, y = make_points(garr, args.points, SEED)
        print(
            f"[{label}] {len(codes)} areas, {res.n_vertices:,} vertices, {args.points:,} points",
            flush=True,
        )
        index, lk = bench_engine(res, codes, geoms, names, x, y)
        if level == "micro_grid":
            mg_index = index
        print(
            f"  engine: build {fmt_times(res.build_times)} s, lookup "
            f"{fmt_times(res.lookup_times)} s",
            flush=True,
        )
        bench_sjoin(res, index, lk, x, y)
        print(f"  sjoin: {fmt_times(res.sjoin_times)} s", flush=True)
        with throwaway_db("assign", admin) as url:
            pg_version = pg_version or postgis_version(url)
            bench_postgis(res, url, source, level, index, lk, x, y)
        print(f"  PostGIS: {res.pg_s:.2f} s ({res.pg_note})", flush=True)
        results.append(res)
        del x, y, lk

    http: dict[str, Any] | None = None
    http_note = ""
    if args.skip_http:
        http_note = "skipped (--skip-http)"
    elif not demo_ready or mg_index is None:
        http_note = f"skipped: the demo street is not (completely) in {DEMO_DATA}"
    else:
        from gis.areas.generations import activate
        from gis.areas.importer import import_areas
        from gis.demo_load import load_demo, read_demo_levels
        from gis.store.db import make_engine

        with throwaway_db("http", admin) as url:
            engine = make_engine(url)
            registers = all(
                (DEMO_DATA / f).exists()
                for f in ("buildings.geojson", "facilities.geojson", "staff.csv")
            )
            with engine.begin() as conn:
                if registers:
                    load_demo(conn, DEMO_DATA)
                else:
                    for lvl, src in read_demo_levels(DEMO_DATA):
                        import_areas(conn, src, level=lvl, description="bench")
                    activate(conn)
            engine.dispose()
            print(
                f"HTTP: demo street loaded ({'with' if registers else 'without'} "
                f"registers); {args.rate:.0f} req/s for {args.seconds:.0f} s …",
                flush=True,
            )
            loads = [(args.rate, args.seconds, "raw")]
            if args.extra_rate > 0:
                loads.append((args.extra_rate, 10.0, "raw"))
            if args.also_httpx:
                loads.append((args.rate, 10.0, "httpx"))
            http = bench_http(url, mg_index.bounds, loads, args.batch, mg_index)
            http["registers"] = registers

    # ------------------------------------------------------------------------ summary
    total = time.perf_counter() - t_start
    print()
    print("=" * 86)
    print("ASSIGNMENT BENCHMARK — wangge AreaIndex vs geopandas.sjoin vs PostGIS ST_Covers")
    print("=" * 86)
    import numba

    print(machine_line())
    print(f"{pg_version}; numba threads in this process: {numba.get_num_threads()}")
    print(
        f"points: {args.points:,} per polygon set, seed {SEED}, {1 - NEAR_SHARE:.0%} uniform "
        f"over the bbox + {NEAR_SHARE:.0%} within ~1 m of an edge; engine and sjoin on one "
        "core"
    )
    print()
    rows = []
    for r in results:
        eng_rate = r.n_points / r.lookup_s
        rows.append(
            [
                r.label,
                f"{r.n_areas}",
                f"{r.n_vertices:,}",
                f"{r.build_s * 1e3:.0f} ms",
                f"{r.lookup_s * 1e3:.1f} ms",
                f"{eng_rate / 1e6:.1f} M/s",
                f"{r.sjoin_s:.2f} s",
                f"{r.pg_s:.2f} s",
                f"{r.sjoin_s / r.lookup_s:.0f}×",
                f"{r.pg_s / r.lookup_s:.0f}×",
            ]
        )
    print(
        table(
            [
                "polygons",
                "areas",
                "vertices",
                "index build",
                "engine 1M",
                "engine rate",
                "sjoin 1M",
                "PostGIS 1M",
                "sjoin/engine",
                "PostGIS/engine",
            ],
            rows,
        )
    )
    print("targets: engine ≥ 10× faster than sjoin, ≥ 100× faster than PostGIS")
    for r in results:
        eng_rate = r.n_points / r.lookup_s
        s_ratio, p_ratio = r.sjoin_s / r.lookup_s, r.pg_s / r.lookup_s
        print()
        print(
            f"[{r.label}]  grid {r.grid}, first build+lookup in process (numba cache load) "
            f"{r.cold_s:.2f} s"
        )
        print(f"  index build      median {r.build_s * 1e3:.1f} ms  {fmt_times(r.build_times)}")
        print(
            f"  engine lookup    median {r.lookup_s * 1e3:.1f} ms (min "
            f"{min(r.lookup_times) * 1e3:.1f}) {fmt_times(r.lookup_times)} → "
            f"{eng_rate / 1e6:.2f} M points/s on one core; "
            f"{r.covered:,} covered, {r.multi:,} by >1 area, {r.n_exact:,} via GEOS fallback"
        )
        print(
            f"  geopandas.sjoin  median {r.sjoin_s:.2f} s  {fmt_times(r.sjoin_times)} "
            f"(+{r.gdf_s:.2f} s to build the points GeoDataFrame, not counted)"
        )
        print(
            f"  PostGIS join     {r.pg_s:.2f} s  [{r.pg_note}]; {r.pg_parts} area_parts; "
            f"import {r.pg_import_s:.2f} s, COPY+table {r.pg_load_s:.2f} s (not counted)"
        )
        print(f"    plan: {r.pg_plan}")
        print(
            f"  engine vs sjoin   {s_ratio:6.0f}×  (target ≥ 10×:  "
            f"{'met' if s_ratio >= 10 else 'NOT met'})"
        )
        print(
            f"  engine vs PostGIS {p_ratio:6.0f}×  (target ≥ 100×: "
            f"{'met' if p_ratio >= 100 else 'NOT met'})"
        )
        print(
            f"  check vs sjoin:   {r.sjoin_mismatch} mismatches of {r.sjoin_checked:,} points "
            f"strictly inside a polygon ({r.sjoin_only_engine} covered only on a border)"
        )
        print(
            f"  check vs PostGIS: {r.pg_mismatch} mismatches of {r.pg_checked:,} points "
            f"(owner == min(code), no owner == no row)"
        )
    print()
    if http is None:
        print(f"HTTP: {http_note}")
    else:
        print(
            f"HTTP (uvicorn, 1 worker, demo street, {'with' if http['registers'] else 'no'} "
            f"staff registers; client and server share the 2-core box)"
        )
        print(
            "  GET /v1/assign, open loop, points uniform over the street's bbox; latency = "
            "request written → response read (e2e = from the scheduled send time)"
        )
        print(
            f"  sequential baseline (1 connection, httpx, 500 requests): p50 "
            f"{http['seq_p50']:.2f} ms, p99 {http['seq_p99']:.2f} ms "
            f"(≈ {http['seq_rate']:.0f} req/s closed loop)"
        )
        for i, ld in enumerate(http["loads"]):
            tag = "MAIN" if i == 0 else "extra"
            verdict = "met" if ld["p99_ms"] < 5 else "NOT met"
            print(
                f"  [{tag}] {ld['rate']:.0f} req/s × {ld['seconds']:.0f} s = {ld['n']:,} "
                f"requests ({ld['client']} client): sent {ld['send_rate']:.0f}/s, completed "
                f"{ld['done_rate']:.0f}/s, errors {ld['errors']}"
                + (f" {ld['statuses']}" if ld["statuses"] else "")
                + (f", {ld['conns']} connections" if ld.get("conns") else "")
            )
            print(
                f"          p50 {ld['p50_ms']:.2f} ms, p90 {ld['p90_ms']:.2f} ms, p99 "
                f"{ld['p99_ms']:.2f} ms, max {ld['max_ms']:.1f} ms (p99 < 5 ms: {verdict}); "
                f"e2e p50/p99 {ld['e2e_p50_ms']:.2f}/{ld['e2e_p99_ms']:.2f} ms; "
                f"generator lateness p99 {ld['late_p99_ms']:.2f} ms"
            )
            wu = ld.get("warmup")
            if wu:
                print(
                    f"          (preceded by a {WARMUP_S:.0f} s warm-up at the same rate, "
                    f"discarded: completed {wu['done_rate']:.0f}/s, p50 {wu['p50_ms']:.2f} ms,"
                    f" p99 {wu['p99_ms']:.2f} ms, errors {wu['errors']})"
                )
        print(
            f"  POST /v1/assign/batch {args.batch:,} points end to end: median "
            f"{http['batch_s']:.3f} s {fmt_times(http['batch_times'])} (target < 1 s: "
            f"{'met' if http['batch_s'] < 1 else 'NOT met'})"
        )
        print(
            f"    split (medians): encode {http['batch_enc']:.3f} s, request "
            f"{http['batch_req']:.3f} s, decode {http['batch_dec']:.3f} s; request "
            f"{http['batch_req_bytes'] / 1e6:.1f} MB, response "
            f"{http['batch_bytes'] / 1e6:.1f} MB; {http['batch_outside']:,} points outside "
            f"every micro-grid (answered with nearest); owners vs engine: "
            f"{http['batch_mismatch']} mismatches"
        )
    print(f"total benchmark time {total:.0f} s")
    if not args.skip_scale:
        # city-size and hostile layers, nearest, buildings, workers (issue 17)
        from assign_scale import run as run_scale

        print()
        run_scale(args.quick, None, args.skip_http)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        loadgen_main(sys.argv[2:])
    else:
        main()
