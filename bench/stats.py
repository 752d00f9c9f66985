"""Statistics, dashboard and export over 1,000,000 incidents (issue 25).

    .venv/bin/python bench/stats.py [--rows 1000000] [--skip-export] [--skip-http]

* rows: the demo street (load_demo: 306 micro-grids under grids, communities and the street)
  and N synthetic incidents (SQL generate_series, fixed seed), each owned by a real
  micro-grid with its real area chain; five sources, every state, a year of report times.
  VACUUM ANALYZE before timing (untimed).
* stats: ``gis.incidents.stats.stats`` (from the facts) for every group_by, median of 3,
  beside the peer measured in the same run: ``direct_stats``, one SQL GROUP BY over
  incidents with the same figures (percentiles included), median of 2; ``identical`` says
  whether both answers are equal.
* dashboard: ``gis.dashboard.figures.dashboard`` for the whole street (every request the
  page makes is this one call), per period; and GET /v1/dashboard over HTTP, median of 3.
* export: CSV of every row to /dev/null in a process of its own (peak memory = its VmHWM):
  wangge COPY (``copy_csv``), the row-by-row exporter (``export_csv``), pandas
  ``read_sql`` + ``to_csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import statistics
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from _common import (
    ROOT,
    api_server,
    fmt_times,
    machine_line,
    pg_connect,
    postgis_version,
    throwaway_db,
)

GENERATE = """
SELECT setseed(0.25);
CREATE TEMP TABLE chains AS
WITH RECURSIVE up AS (
    SELECT code AS leaf, code, parent_code, ARRAY[code] AS chain FROM areas
    WHERE level = 'micro_grid'
    UNION ALL
    SELECT up.leaf, a.code, a.parent_code, a.code || up.chain
    FROM up JOIN areas a ON a.code = up.parent_code
)
SELECT row_number() OVER (ORDER BY leaf) - 1 AS k, leaf AS owner_code, chain AS area_codes
FROM up WHERE parent_code IS NULL;
INSERT INTO incidents (category, description, source, geom, location_status, reported_at,
    status, due_at, owner_code, owner_name, area_codes, generation, assigned_at, resolved_at,
    closed_at, created_at, duplicate_of)
SELECT c.cat, '基准', (ARRAY['hotline','app','patrol','camera','other'])[1 + (g %% 5)],
    ST_SetSRID(ST_MakePoint(121.38 + random() * 0.04, 31.23 + random() * 0.04), 4326),
    CASE WHEN g %% 50 = 0 THEN 'needs_review' ELSE 'ok' END,
    t.at,
    CASE WHEN t.r < 0.8 THEN 'closed' WHEN t.r < 0.85 THEN 'resolved'
         WHEN t.r < 0.9 THEN 'in_progress' WHEN t.r < 0.93 THEN 'assigned'
         WHEN t.r < 0.95 THEN 'returned' WHEN t.r < 0.97 THEN 'suspended'
         WHEN t.r < 0.98 THEN 'extended' WHEN t.r < 0.99 THEN 'reopened' ELSE 'reported' END,
    t.at + interval '24 hours', h.owner_code, h.owner_code, h.area_codes, 1,
    CASE WHEN t.r < 0.99 THEN t.at + (random() * 900) * interval '1 second' END,
    CASE WHEN t.r < 0.85 THEN t.at + (random() * 40) * interval '1 hour' END,
    CASE WHEN t.r < 0.8 THEN t.at + (41 + random() * 10) * interval '1 hour' END, now(), NULL
FROM (SELECT g, now() - random() * interval '365 days' AS at, random() AS r
      FROM generate_series(1, %(n)s) g) t
CROSS JOIN LATERAL (SELECT (ARRAY['garbage','noise','water_leak','illegal_parking',
    'facility_damage','ebike_charging'])[1 + (g %% 6)] AS cat) c
JOIN chains h ON h.k = g %% (SELECT count(*) FROM chains);
"""

EXPORTER = """
import os, sys, time
sys.path.insert(0, {root!r})
kind, url = sys.argv[1], sys.argv[2]
def hwm():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
from sqlalchemy import text
from gis.store.db import make_engine
from gis.incidents.copy_export import copy_csv
from gis.incidents.export import CSV_COLUMNS, export_csv
from gis.incidents.query import Filters
if kind == "pandas":
    import pandas
engine = make_engine(url)
with engine.connect() as c:
    c.execute(text("SELECT 1"))
base = hwm()
t0 = time.perf_counter()
n = 0
size = 0
with open(os.devnull, "wb") as out:
    if kind in ("copy", "rows"):
        for chunk in (copy_csv if kind == "copy" else export_csv)(engine, Filters()):
            out.write(chunk)
            size += len(chunk)
            n += chunk.count(b"\\n")
    else:
        cols = ", ".join(c for c in CSV_COLUMNS if c not in ("lon", "lat", "overdue"))
        query = (f"SELECT {{cols}}, ST_X(geom) AS lon, ST_Y(geom) AS lat, "
                 "due_at < coalesce(resolved_at, closed_at, now()) AS overdue "
                 "FROM incidents ORDER BY id")
        with engine.connect() as c:
            df = pandas.read_sql(text(query), c)
        data = df.to_csv(index=False).encode()
        out.write(data)
        size = len(data)
        n = len(df) + 1
print(f"{{time.perf_counter() - t0}} {{base}} {{hwm()}} {{n}} {{size}}")
"""

GROUPS = (
    "week",
    "month",
    "department",
    "source",
    "status",
    "street",
    "community",
    "grid",
    "micro_grid",
    "category",
    "area",
    "day",
)


def generate(url: str, rows: int) -> tuple[float, str]:
    from sqlalchemy import select

    from gis.demo_load import load_demo
    from gis.incidents.categories import ensure_categories
    from gis.store.db import make_engine
    from gis.store.models import AREAS

    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, ROOT / "data" / "boundaries")
        ensure_categories(conn)
    with engine.connect() as conn:
        street = conn.execute(select(AREAS.c.code).where(AREAS.c.level == "street")).scalar_one()
    engine.dispose()
    t0 = time.perf_counter()
    with pg_connect(url) as pg:
        for statement in GENERATE.split(";"):
            if statement.strip():
                pg.execute(statement, {"n": rows} if "%(n)s" in statement else None)
        pg.commit()
    took = time.perf_counter() - t0
    with pg_connect(url) as settle:
        settle.autocommit = True
        for table in ("incidents", "incident_facts", "incident_fact_cells"):
            settle.execute(f"VACUUM ANALYZE {table}")
    return took, street


def bench_stats(url: str) -> list[str]:
    from gis.incidents.query import Filters
    from gis.incidents.stats import direct_stats, stats
    from gis.store.db import make_engine

    engine = make_engine(url)
    lines = []
    with engine.connect() as conn:
        for group_by in GROUPS:
            now = datetime.now(UTC)
            stats(conn, Filters(), group_by=group_by, now=now)  # warm the cache
            times, peer = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                fast = stats(conn, Filters(), group_by=group_by, now=now)
                times.append(time.perf_counter() - t0)
            for _ in range(2):
                t0 = time.perf_counter()
                slow = direct_stats(
                    conn, Filters(), group_by=group_by, timezone="Asia/Shanghai", now=now
                )
                peer.append(time.perf_counter() - t0)
            m, p = statistics.median(times), statistics.median(peer)
            lines.append(
                f"stats group_by={group_by:<10} {len(fast['groups']):>4} groups, "
                f"{fast['total']['count']:,} incidents: facts {m:.3f} s {fmt_times(times)} "
                f"(target < 0.5 s) vs direct SQL GROUP BY {p:.3f} s {fmt_times(peer)} = "
                f"{p / m:.1f}× faster; identical: {fast == slow}"
            )
            print(lines[-1], flush=True)
    engine.dispose()
    return lines


def bench_dashboard(url: str, street: str, http: bool) -> list[str]:
    from gis.dashboard.evaluation import Weights
    from gis.dashboard.figures import PERIODS, View, dashboard
    from gis.store.db import make_engine

    engine = make_engine(url)
    lines = []
    with engine.connect() as conn:
        for period in PERIODS:
            view = View(area=street, period=period)
            dashboard(conn, view, weights=Weights())
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                out = dashboard(conn, view, weights=Weights())
                times.append(time.perf_counter() - t0)
            lines.append(
                f"dashboard data for the whole street ({street}), period {period}: "
                f"{statistics.median(times):.3f} s median {fmt_times(times)} "
                f"({out['headline'][0]['value']:,} incidents, "
                f"{len(out['ranking']['rows'])} {out['ranking']['level']} ranked, "
                f"{len(out['trend']['keys'])} trend points)"
            )
            print(lines[-1], flush=True)
    engine.dispose()
    if http:
        import httpx

        with (
            api_server(url, quiet=True) as api,
            httpx.Client(base_url=api.base, headers=api.headers, timeout=120) as client,
        ):
            for period in ("30d", "365d"):
                path = f"/v1/dashboard?area={street}&period={period}"
                client.get(path).raise_for_status()
                client.get(f"/dashboard?area={street}&period={period}").raise_for_status()
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append(time.perf_counter() - t0)
                lines.append(
                    f"GET {path} over HTTP (the page's one data request): "
                    f"{statistics.median(times):.3f} s median {fmt_times(times)}"
                )
                print(lines[-1], flush=True)
    return lines


def bench_export(url: str) -> list[str]:
    script = EXPORTER.format(root=str(ROOT))
    got: dict[str, Any] = {}
    lines = []
    for kind in ("copy", "pandas", "rows"):
        proc = subprocess.run(
            [sys.executable, "-c", script, kind, url], capture_output=True, text=True, timeout=1800
        )
        if proc.returncode != 0:
            lines.append(f"export {kind}: failed: {proc.stderr[-800:]}")
            print(lines[-1], flush=True)
            continue
        secs, base, peak, n, size = proc.stdout.split()
        got[kind] = {"s": float(secs), "peak": float(peak), "base": float(base)}
        lines.append(
            f"export CSV {kind:<6}: {float(secs):.1f} s, {int(n) - 1:,} rows, "
            f"{int(size) / 1e6:.0f} MB, peak RSS {float(peak):.0f} MB "
            f"(after imports {float(base):.0f} MB)"
        )
        print(lines[-1], flush=True)
    if "copy" in got and "pandas" in got:
        lines.append(
            f"export: COPY is {got['pandas']['s'] / got['copy']['s']:.1f}× faster than pandas "
            f"(target ≥ 5×); peak memory COPY/pandas: {got['copy']['peak']:.0f}/"
            f"{got['pandas']['peak']:.0f} MB (target < 100 MB)"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-stats", action="store_true")
    ap.add_argument(
        "--reuse", metavar="URL", help="a database this script already filled (no generation)"
    )
    args = ap.parse_args()
    print(machine_line(), flush=True)
    lines: list[str] = []
    if args.reuse:
        lines.extend(run(args.reuse, None, args))
    else:
        with throwaway_db("stats") as url:
            lines.extend(run(url, args.rows, args))
    print("\n== summary ==")
    print("\n".join(lines))


def run(url: str, rows: int | None, args: Any) -> list[str]:
    """Every part on the database at ``url`` (filled first with ``rows`` incidents)."""
    from sqlalchemy import select

    from gis.store.db import make_engine
    from gis.store.models import AREAS

    lines: list[str] = []
    print(postgis_version(url), flush=True)
    if rows is not None:
        took, street = generate(url, rows)
        print(f"generated {rows:,} incidents in {took:.1f} s", flush=True)
    else:
        engine = make_engine(url)
        with engine.connect() as conn:
            q = select(AREAS.c.code).where(AREAS.c.level == "street")
            street = conn.execute(q).scalar_one()
        engine.dispose()
    if not args.skip_stats:
        lines.extend(bench_stats(url))
    lines.extend(bench_dashboard(url, street, http=not args.skip_http))
    if not args.skip_export:
        lines.extend(bench_export(url))
    return lines


if __name__ == "__main__":
    main()
