"""Incident benchmark: geocoding of 100,000 messy addresses vs a naive rapidfuzz peer (the
``bench/geocode.py`` run, in a process of its own); batch intake vs a plain COPY of the same
rows; single-request intake
latency at a fixed rate over real HTTP; the 84k-row replay end to end; a streamed export of
1,000,000 incidents (peak memory) vs pandas read_sql + to_csv; /v1/stats over 1,000,000.

    .venv/bin/python bench/intake.py [--batch 10000] [--rate 100] [--seconds 20]
                                     [--export-rows 1000000] [--skip-replay] [--skip-http]
                                     [--only geocode|batch|single|export|stats|replay ...]
                                     [--workers 1,2]

* Data: the demo street (data/boundaries) and the shipped categories in a throwaway database;
  for the replay, the 252 Shanghai townships and ../shared/data's daily report file (84,322
  rows), read in place.
* batch intake: ``gis.incidents.intake.intake`` on N bodies (80 % WGS-84 points, 10 % GCJ-02
  app points, 10 % building addresses through the demo gazetteer), validation + geocoding +
  vectorised assignment + duplicate links + SLA + insert with snapshot + events, COMMIT;
  median of 3 (rows deleted between runs, untimed). Peer: COPY (binary) of the very rows the
  intake stored into a table ``LIKE incidents INCLUDING ALL``, COMMIT.
* single requests: uvicorn (1 worker; ``--workers 1,2`` measures each count in turn) in a
  subprocess; an open-loop asyncio + httpx client POSTs /v1/incidents at ``--rate`` for
  ``--seconds`` (after 3 s of warm-up); latency = request start to response end (p50, p95,
  p99, max over the 201 answers), and p99 from the scheduled send time; the rate the client
  achieved and the answers by status are printed. ``--only single`` first fills the table
  with ``--batch`` incidents (untimed), as the batch part would have.
* replay: ``wangge replay``'s function over the whole daily file against the townships.
  Peer: COPY of the raw CSV into a text table.
* export: 1,000,000 synthetic incidents (SQL generate_series, fixed seed). Each exporter runs
  in its own process, writing to /dev/null; peak RSS is the process's own VmHWM (imports
  included, their baseline printed; getrusage's ru_maxrss is not used: Linux carries the
  forking parent's peak into it, which made the figure the benchmark's own ~400-600 MB).
  wangge: ``export_csv`` (server-side cursor, 5,000-row chunks); peer: ``pandas.read_sql`` +
  ``DataFrame.to_csv`` of the same columns.
* stats: ``gis.incidents.stats.stats`` over the 1,000,000 (group_by category, area, day),
  median of 5, after a VACUUM ANALYZE of incidents and their stats facts (untimed); and GET
  /v1/stats over HTTP, median of 3. ``--only stats`` runs just this part (rows generated,
  no intake, export or replay).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import asyncio
import random
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    DEMO_DATA,
    ROOT,
    SHARED_DATA,
    TOWNSHIPS,
    ApiServer,
    api_server,
    fmt_times,
    machine_line,
    pg_connect,
    postgis_version,
    table,
    throwaway_db,
    uvicorn_command,
)

DAILY = SHARED_DATA / "shanghai_covid2022_case_address_reports_daily.csv"
CATS = ["garbage", "ebike_charging", "water_leak", "noise", "illegal_parking", "facility_damage"]


def load_street(url: str) -> tuple[tuple[float, float, float, float], list[str]]:
    from sqlalchemy import select

    from gis.demo_load import load_demo
    from gis.incidents.categories import ensure_categories
    from gis.store.db import make_engine
    from gis.store.models import BUILDINGS

    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
        ensure_categories(conn)
    with engine.connect() as conn:
        addresses = [a for a in conn.execute(select(BUILDINGS.c.address)).scalars() if a]
    engine.dispose()
    import geopandas as gpd

    street = gpd.read_file(DEMO_DATA / "street.geojson")
    return tuple(street.total_bounds.tolist()), addresses  # type: ignore[return-value]


def bodies(n: int, bbox: Any, addresses: list[str], seed: int, tag: str) -> list[dict[str, Any]]:
    from gis.crs import wgs84_to_gcj02

    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for k in range(n):
        x, y = rng.uniform(bbox[0], bbox[2]), rng.uniform(bbox[1], bbox[3])
        b: dict[str, Any] = {
            "category": rng.choice(CATS),
            "source": "hotline",
            "description": "基准测试",
            "reported_at": (now - timedelta(minutes=rng.uniform(1, 60 * 24 * 7))).isoformat(),
            "external_id": f"{tag}-{k}",
        }
        roll = rng.random()
        if roll < 0.1:
            b["address"] = rng.choice(addresses) + "门口"
        elif roll < 0.2:
            gx, gy = wgs84_to_gcj02(lon=x, lat=y)
            b.update(lon=float(gx), lat=float(gy), crs="gcj02", source="app")
        else:
            b.update(lon=x, lat=y)
        out.append(b)
    return out


def bench_batch(url: str, bbox: Any, addresses: list[str], n: int) -> dict[str, Any]:
    from sqlalchemy import delete, text

    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.incidents.intake import IntakeContext, intake
    from gis.incidents.locating import gazetteer_resolver
    from gis.incidents.worktime import WorkCalendar
    from gis.store.db import make_engine
    from gis.store.models import INCIDENT_EVENTS, INCIDENTS

    engine = make_engine(url)
    ctx = IntakeContext(
        Assigner(engine), WorkCalendar(), gazetteer_resolver(GazetteerCache(engine)), max_batch=n
    )
    times: list[float] = []
    for run in range(4):
        items = bodies(n, bbox, addresses, seed=run, tag=f"b{run}")
        with engine.begin() as conn:
            conn.execute(delete(INCIDENT_EVENTS))
            conn.execute(delete(INCIDENTS))
        t0 = time.perf_counter()
        with engine.begin() as conn:
            taken = intake(conn, ctx, items)
        elapsed = time.perf_counter() - t0
        if run:  # run 0 warms the index, the gazetteer and the calendar
            times.append(elapsed)
    created = sum(t.created for t in taken)
    dups = sum(t.duplicate_of is not None for t in taken)
    review = sum(t.location_status == "needs_review" for t in taken)
    # peer: COPY the very rows the intake stored
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DROP TABLE IF EXISTS copy_peer")
        cur.execute("CREATE TABLE copy_peer (LIKE incidents INCLUDING ALL)")
        cols = [c.name for c in INCIDENTS.c]
        buf = []
        with cur.copy(
            f"COPY (SELECT {', '.join(cols)} FROM incidents) TO STDOUT (FORMAT BINARY)"
        ) as cp:
            for chunk in cp:
                buf.append(bytes(chunk))
        raw.commit()
        peer: list[float] = []
        for _ in range(3):
            cur.execute("TRUNCATE copy_peer")
            raw.commit()
            t0 = time.perf_counter()
            with cur.copy(f"COPY copy_peer ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as cp:
                for chunk in buf:
                    cp.write(chunk)
            raw.commit()
            peer.append(time.perf_counter() - t0)
        cur.execute("DROP TABLE copy_peer")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM incident_events")).scalar_one()
    engine.dispose()
    return {
        "n": n,
        "times": times,
        "median": statistics.median(times),
        "peer_times": peer,
        "peer": statistics.median(peer),
        "created": created,
        "duplicates": dups,
        "needs_review": review,
        "events": events,
    }


async def _load(
    api: ApiServer, rate: float, seconds: float, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Open-loop POSTs of ``items`` at ``rate`` per second: 3 s of warm-up (discarded), then
    ``seconds``; latency from request start to response end, and end to end from the time
    the request was scheduled (a client or server falling behind shows there)."""
    import httpx
    import numpy as np

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(
        base_url=api.base, headers=api.headers, timeout=30, limits=limits
    ) as client:

        async def phase(first: int, count: int) -> dict[str, Any]:
            lat: list[float] = [float("nan")] * count
            e2e: list[float] = [float("nan")] * count
            status = [0] * count

            async def one(k: int, scheduled: float) -> None:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/incidents", json=items[first + k])
                    status[k] = r.status_code
                except httpx.HTTPError:
                    status[k] = -1
                done = time.perf_counter()
                lat[k], e2e[k] = done - t0, done - scheduled

            tasks = []
            t0 = time.perf_counter()
            for k in range(count):
                scheduled = t0 + k / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(k, scheduled)))
            sent_s = time.perf_counter() - t0
            await asyncio.gather(*tasks)
            return {"lat": lat, "e2e": e2e, "status": status, "sent_s": sent_s}

        warm = int(rate * 3)
        await phase(0, warm)
        run = await phase(warm, int(rate * seconds))
    ok = [k for k, s in enumerate(run["status"]) if s == 201] or [0]

    def pct(values: list[float], q: float) -> float:
        return 1e3 * float(np.percentile([values[k] for k in ok], q))

    statuses: dict[int, int] = {}
    for s in run["status"]:
        statuses[s] = statuses.get(s, 0) + 1
    n = len(run["status"])
    return {
        "n": n,
        "ok": sum(s == 201 for s in run["status"]),
        "statuses": statuses,
        "achieved": (n - 1) / run["sent_s"] if run["sent_s"] > 0 else float("nan"),
        "p50_ms": pct(run["lat"], 50),
        "p95_ms": pct(run["lat"], 95),
        "p99_ms": pct(run["lat"], 99),
        "max_ms": pct(run["lat"], 100),
        "e2e_p99_ms": pct(run["e2e"], 99),
    }


def workers_command(workers: int) -> Any:
    """``uvicorn_command`` with ``workers`` worker processes."""

    def command(port: int) -> list[str]:
        return [*uvicorn_command(port), "--workers", str(workers)]

    return command


def bench_single(
    url: str, bbox: Any, addresses: list[str], rate: float, seconds: float, workers: int
) -> str:
    """The single-request line for one server of ``workers`` uvicorn workers."""
    command = uvicorn_command if workers == 1 else workers_command(workers)
    with api_server(url, command=command) as api:
        items = bodies(int(rate * (seconds + 3)), bbox, addresses, 99, f"h{workers}")
        h = asyncio.run(_load(api, rate, seconds, items))
    shown = " ".join(f"{k}:{v}" for k, v in sorted(h["statuses"].items()))
    return (
        f"single POST /v1/incidents at {rate:.0f}/s for {seconds:.0f} s, {workers} worker"
        f"{'s' if workers > 1 else ''}: p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms, "
        f"p99 {h['p99_ms']:.1f} ms (target < 20 ms), max {h['max_ms']:.1f} ms, p99 from "
        f"schedule {h['e2e_p99_ms']:.1f} ms; sent at {h['achieved']:.1f}/s, "
        f"{h['ok']}/{h['n']} answered 201 ({shown})"
    )


def bench_replay(admin: str | None) -> dict[str, Any]:
    from gis.areas.importer import import_areas
    from gis.areas.reading import read_area_file
    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.incidents.categories import ensure_categories
    from gis.incidents.intake import IntakeContext
    from gis.incidents.locating import gazetteer_resolver
    from gis.incidents.replay import Columns, replay
    from gis.incidents.worktime import WorkCalendar
    from gis.store.db import make_engine

    with throwaway_db("replay", admin) as url:
        engine = make_engine(url)
        source = read_area_file(TOWNSHIPS, code_field="id", name_field="name")
        with engine.begin() as conn:
            import_areas(conn, source, level="street", activate=True)
            ensure_categories(conn)
        ctx = IntakeContext(
            Assigner(engine), WorkCalendar(), gazetteer_resolver(GazetteerCache(engine))
        )
        cols = Columns(
            time="date", address="address", district="district", lon="wgs84_lng", lat="wgs84_lat"
        )
        t0 = time.perf_counter()
        report = replay(engine, ctx, DAILY, cols, category="public_health")
        elapsed = time.perf_counter() - t0
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(
                "CREATE TABLE raw_daily (date text, district text, address text, "
                "wgs84_lng text, wgs84_lat text, amap_township text)"
            )
            raw.commit()
            t1 = time.perf_counter()
            with (
                cur.copy("COPY raw_daily FROM STDIN (FORMAT CSV, HEADER)") as cp,
                DAILY.open("rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            raw.commit()
            peer = time.perf_counter() - t1
        finally:
            raw.close()
        engine.dispose()
    return {"seconds": elapsed, "report": report.as_dict(), "peer": peer}


GENERATE = """
SELECT setseed(0.42);
INSERT INTO incidents (category, description, source, geom, location_status, reported_at,
    status, due_at, owner_code, owner_name, area_codes, generation, assigned_at, resolved_at,
    closed_at, created_at)
SELECT c.cat, '基准', 'hotline',
    ST_SetSRID(ST_MakePoint(121.38 + random() * 0.04, 31.23 + random() * 0.04), 4326), 'ok',
    t.at, CASE WHEN t.r < 0.9 THEN 'closed' WHEN t.r < 0.95 THEN 'in_progress' ELSE 'assigned' END,
    t.at + interval '24 hours', m.code, m.code, ARRAY['S', m.grid, m.code], 1,
    t.at + (random() * 600) * interval '1 second',
    CASE WHEN t.r < 0.9 THEN t.at + (random() * 40) * interval '1 hour' END,
    CASE WHEN t.r < 0.9 THEN t.at + (41 + random() * 10) * interval '1 hour' END, now()
FROM (SELECT g, now() - random() * interval '365 days' AS at, random() AS r
      FROM generate_series(1, %(n)s) g) t
CROSS JOIN LATERAL (SELECT (ARRAY['garbage','noise','water_leak','illegal_parking',
    'facility_damage','ebike_charging'])[1 + (g %% 6)] AS cat) c
CROSS JOIN LATERAL (SELECT 'M' || lpad((g %% 300)::text, 3, '0') AS code,
    'G' || lpad((g %% 30)::text, 2, '0') AS grid) m;
ANALYZE incidents;
"""

EXPORTER = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
kind, url = sys.argv[1], sys.argv[2]
def hwm():
    # this process's own peak (VmHWM is reset by exec); getrusage's ru_maxrss is not: Linux
    # carries the forking parent's peak into the child, so it reported the benchmark's own RSS
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from sqlalchemy import text
from gis.store.db import make_engine
from gis.incidents.export import CSV_COLUMNS, export_csv
from gis.incidents.query import Filters
import pandas
engine = make_engine(url)
with engine.connect() as c:
    c.execute(text("SELECT 1"))
base = hwm()
t0 = time.perf_counter()
n = 0
with open(os.devnull, "wb") as out:
    if kind == "wangge":
        for chunk in export_csv(engine, Filters()):
            out.write(chunk)
            n += chunk.count(b"\\n")
    else:
        cols = ", ".join(c for c in CSV_COLUMNS if c not in ("lon", "lat", "overdue"))
        query = (f"SELECT {{cols}}, ST_X(geom) AS lon, ST_Y(geom) AS lat, "
                 "due_at < coalesce(resolved_at, closed_at, now()) AS overdue "
                 "FROM incidents ORDER BY id")
        with engine.connect() as c:
            df = pandas.read_sql(text(query), c)
        df.to_csv(out, index=False)
        n = len(df) + 1
peak = hwm()
print(f"{{time.perf_counter() - t0}} {{base}} {{peak}} {{n}} {{inherited}}")
"""


def bench_export_stats(url: str, rows: int, http: bool, export: bool = True) -> dict[str, Any]:
    from sqlalchemy import delete

    from gis.incidents.query import Filters
    from gis.incidents.stats import direct_stats, fact_stats, stats
    from gis.store.db import make_engine
    from gis.store.models import INCIDENT_EVENTS, INCIDENTS

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(INCIDENT_EVENTS))
        conn.execute(delete(INCIDENTS))
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement in GENERATE.split(";"):
            if statement.strip():
                cur.execute(statement, {"n": rows} if "%(n)s" in statement else None)
        raw.commit()
    finally:
        raw.close()
    generated = time.perf_counter() - t0
    # settle the freshly written tables (visibility map, hint bits, statistics) so that
    # autovacuum does not start on them while stats are timed
    with pg_connect(url) as settle:
        for table in ("incidents", "incident_facts"):
            settle.execute(f"VACUUM ANALYZE {table}")
    out: dict[str, Any] = {"rows": rows, "generate_s": generated}
    script = EXPORTER.format(root=str(ROOT))
    for kind in ("wangge", "pandas") if export else ():
        proc = subprocess.run(
            [sys.executable, "-c", script, kind, url], capture_output=True, text=True, timeout=900
        )
        if proc.returncode != 0:
            out[kind] = {"error": proc.stderr[-1500:]}
            continue
        secs, base, peak, n, inherited = proc.stdout.split()
        out[kind] = {
            "s": float(secs),
            "base_mb": float(base),
            "peak_mb": float(peak),
            "lines": int(n),
            "inherited_mb": float(inherited),
        }
    out["stats"] = {}
    for group_by in ("category", "area", "day"):
        times, peer = [], []
        with engine.connect() as conn:
            stats(conn, Filters(), group_by=group_by)  # warm the cache
            for _ in range(5):
                t1 = time.perf_counter()
                result = stats(conn, Filters(), group_by=group_by)
                times.append(time.perf_counter() - t1)
            # peer: the direct scan of incidents (the bbox path; before the facts, every path)
            for _ in range(3):
                t1 = time.perf_counter()
                now = datetime.now(UTC)
                direct = direct_stats(
                    conn, Filters(), group_by=group_by, timezone="Asia/Shanghai", now=now
                )
                peer.append(time.perf_counter() - t1)
                same = direct == fact_stats(
                    conn, Filters(), group_by=group_by, timezone="Asia/Shanghai", now=now
                )
        out["stats"][group_by] = {
            "median": statistics.median(times),
            "times": times,
            "groups": len(result["groups"]),
            "count": result["total"]["count"],
            "peer": statistics.median(peer),
            "peer_times": peer,
            "identical": same,
        }
    with engine.connect() as conn:
        t1 = time.perf_counter()
        stats(conn, Filters(area="G01"), group_by="area")
        out["stats_area_filter_s"] = time.perf_counter() - t1
    engine.dispose()
    if http:
        import httpx

        with (
            api_server(url) as api,
            httpx.Client(base_url=api.base, headers=api.headers, timeout=60) as client,
        ):
            client.get("/v1/stats").raise_for_status()
            times = []
            for _ in range(3):
                t1 = time.perf_counter()
                client.get("/v1/stats?group_by=category").raise_for_status()
                times.append(time.perf_counter() - t1)
            out["stats_http"] = statistics.median(times)
    return out


def _stats_lines(e: dict[str, Any]) -> list[str]:
    rows = [
        [
            g,
            f"{v['median']:.3f}",
            fmt_times(v["times"]),
            str(v["groups"]),
            f"{v['count']:,}",
            f"{v['peer']:.3f} {fmt_times(v['peer_times'])}",
            f"{v['peer'] / v['median']:.1f}×",
            "yes" if v["identical"] else "NO",
        ]
        for g, v in e["stats"].items()
    ]
    header = ["group_by", "median s", "repeats", "groups", "count", "direct scan s", "ratio"]
    lines = [
        f"stats over {e['rows']:,} incidents (target < 0.5 s), from the facts vs the direct "
        "scan of incidents:\n" + table([*header, "same answer"], rows),
        f"stats with area filter G01 (1/30 of rows): {e['stats_area_filter_s']:.3f} s",
    ]
    if "stats_http" in e:
        lines.append(f"GET /v1/stats?group_by=category over HTTP: {e['stats_http']:.3f} s median")
    return lines


def export_lines(e: dict[str, Any]) -> list[str]:
    """The printed lines of the export and stats part."""
    lines: list[str] = []
    lines.append(f"generated {e['rows']:,} incidents in {e['generate_s']:.1f} s")
    for kind in ("wangge", "pandas"):
        x = e[kind]
        if "error" in x:
            lines.append(f"export {kind}: failed: {x['error']}")
        else:
            lines.append(
                f"export CSV {kind}: {x['s']:.1f} s, peak RSS {x['peak_mb']:.0f} MB "
                f"(after imports {x['base_mb']:.0f} MB; getrusage's ru_maxrss would say "
                f"{max(x['inherited_mb'], x['peak_mb']):.0f} MB, the parent's peak "
                f"inherited through fork), {x['lines'] - 1:,} rows"
            )
    w, p = e["wangge"], e["pandas"]
    if "error" not in w and "error" not in p:
        lines.append(
            f"export peak memory wangge/pandas: {w['peak_mb']:.0f}/{p['peak_mb']:.0f} MB "
            f"(target < 200 MB); time ratio pandas/wangge {p['s'] / w['s']:.2f}×"
        )
    lines.extend(_stats_lines(e))
    return lines


PARTS = ("geocode", "batch", "single", "export", "stats", "replay")


def fill(url: str, bbox: Any, addresses: list[str], n: int) -> None:
    """``n`` incidents through the batch intake, untimed: the single-request part alone
    (``--only single``) then runs against a table like the one the batch part leaves."""
    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.incidents.intake import IntakeContext, intake
    from gis.incidents.locating import gazetteer_resolver
    from gis.incidents.worktime import WorkCalendar
    from gis.store.db import make_engine

    engine = make_engine(url)
    ctx = IntakeContext(
        Assigner(engine), WorkCalendar(), gazetteer_resolver(GazetteerCache(engine)), max_batch=n
    )
    with engine.begin() as conn:
        intake(conn, ctx, bodies(n, bbox, addresses, seed=3, tag="fill"))
    engine.dispose()


def bench_geocode() -> list[str]:
    """The geocoding part: ``bench/geocode.py`` (100,000 messy addresses against the 26,105
    real ones, beside a naive rapidfuzz extractOne) in a process of its own; its lines."""
    script = Path(__file__).resolve().parent / "geocode.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    shown = [line for line in out.stdout.splitlines() if line.strip()][:-1]  # not its machine
    for line in shown:
        print(line, flush=True)
    return shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--workers",
        default="1",
        help="comma list of uvicorn worker counts for the single-request part (e.g. 1,2)",
    )
    ap.add_argument("--export-rows", type=int, default=1_000_000)
    ap.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable); e.g. --only single",
    )
    ap.add_argument("--skip-replay", action="store_true")
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()
    parts = set(args.only or PARTS)
    if args.skip_replay:
        parts.discard("replay")
    if args.skip_http:
        parts.discard("single")
    http = not args.skip_http
    print(machine_line(), flush=True)
    lines: list[str] = []
    if "geocode" in parts:
        lines.extend(bench_geocode())
    with throwaway_db("intake") as url:
        print(postgis_version(url), flush=True)
        bbox, addresses = load_street(url)
        if parts == {"stats"}:  # only generate the rows and time stats
            e = bench_export_stats(url, args.export_rows, http, export=False)
            print("\n".join(_stats_lines(e)), flush=True)
            return
        if "batch" in parts:
            b = bench_batch(url, bbox, addresses, args.batch)
            rate = b["n"] / b["median"]
            peer_rate = b["n"] / b["peer"]
            lines.append(
                f"batch intake of {b['n']:,}: {b['median']:.3f} s median "
                f"{fmt_times(b['times'])} = {rate:,.0f} incidents/s (target ≥ 5,000/s); plain "
                f"COPY of the same rows: {b['peer']:.3f} s {fmt_times(b['peer_times'])} = "
                f"{peer_rate:,.0f} rows/s; intake/COPY time ratio {b['median'] / b['peer']:.1f}×"
                f"  ({b['created']} stored, {b['duplicates']} linked as duplicates, "
                f"{b['needs_review']} for review, {b['events']} events)"
            )
            print(lines[-1], flush=True)
        elif "single" in parts:
            fill(url, bbox, addresses, args.batch)
        if "single" in parts:
            for workers in (int(w) for w in args.workers.split(",")):
                lines.append(bench_single(url, bbox, addresses, args.rate, args.seconds, workers))
                print(lines[-1], flush=True)
        if "export" in parts or "stats" in parts:
            export = "export" in parts
            e = bench_export_stats(url, args.export_rows, http, export=export)
            shown = export_lines(e) if export else _stats_lines(e)
            lines.extend(shown)
            for line in shown:
                print(line, flush=True)
    if "replay" in parts:
        r = bench_replay(None)
        rep = r["report"]
        lines.append(
            f"replay of {rep['rows']:,} daily reports end to end: {r['seconds']:.1f} s = "
            f"{rep['rows'] / r['seconds']:,.0f} rows/s ({rep['stored']:,} stored, "
            f"{rep['duplicates']:,} linked as duplicates, {rep['needs_review']:,} for review, "
            f"{rep['errors']} rejected); plain COPY of the raw CSV: {r['peer']:.2f} s"
        )
        print(lines[-1], flush=True)
    print("\n== summary ==")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
