"""Serving cost (issue 28): ``GET /v1/assign`` against a trivial endpoint on the same server,
in the same run; then memory per worker on a Shanghai-wide layer. Prints figures, never
asserts.

    .venv/bin/python bench/serve.py [--seconds 5] [--rate 500] [--workers 1,2]
                                    [--memory-workers 1,2,4] [--cells 45000] [--skip-memory]

* Load generator: ``wrk`` (Debian package ``wrk``), one thread, keep-alive, on the same box.
  Two kinds of run per endpoint:

  - *max*: ``wrk -c 8`` as fast as the server answers: throughput (requests/s).
  - *fixed rate*: a Lua script (``_fixed_rate.lua``) paces every connection on a schedule
    (LuaJIT ffi ``clock_gettime``), so the offered rate is ``--rate`` whatever the answers'
    latency; p50/p99 of the answers as wrk measures them. The achieved rate is printed
    beside them (a generator that falls behind shows up there).

* Server: ``uvicorn --factory --app-dir bench _serve_app:app`` (the real app plus
  ``GET /v1/assign-trivial``: same parameters, a body of the same shape, no key, no lookup),
  on the 252 Shanghai townships (``../shared/data``), 1 worker then N. The per-key rate limit
  is on but set far above the load (WANGGE_RATE_LIMIT_PER_SECOND=1e9), so its code runs.
* In process (workers "0"): the app called directly, no server and no sockets, 2,000
  requests each: CPU µs per request and the requests/s one core would give at that cost.
* Memory: ``wangge serve --workers N`` (N = 1, 2, 4) on a Shanghai-wide micro-grid layer
  (``bench/_shapes.voronoi_tiling``, 45,000 cells as in ``bench/assign_scale.py``): each
  worker's RSS, its private memory (``Private_*`` of ``/proc/PID/smaps_rollup``) and the part
  of its RSS that is the shared index file (mapped from WANGGE_HOME), and the master's RSS.
* The machine's load averages are printed before and after each part: the box is shared.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import single_thread_env

single_thread_env()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

from _common import (  # noqa: E402
    TOWNSHIPS,
    admin_url,
    api_server,
    machine_line,
    table,
    throwaway_db,
)

HERE = Path(__file__).resolve().parent
LUA = HERE / "_fixed_rate.lua"
POINT = "lon=121.4737&lat=31.2304"  # People's Square: inside a township


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def uvicorn_bench(workers: int):  # type: ignore[no-untyped-def]
    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(HERE),
            "_serve_app:app", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip

    return command


def wrk(
    url: str, key: str, seconds: float, *, rate: float | None, connections: int = 8
) -> dict[str, float]:
    """One wrk run; with ``rate``, paced to that many requests per second in total."""
    env = {**os.environ, "WRK_KEY": key}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(LUA)]
    if rate:
        env["WRK_RATE"] = str(rate)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, env=env, check=True).stdout
    figures: dict[str, float] = {}
    for name in ("requests", "rps", "p50", "p99", "non2xx", "errors"):
        match = re.search(rf"^{name}=([0-9.]+)$", out, re.M)
        figures[name] = float(match.group(1)) if match else float("nan")
    return figures


def http_part(seconds: float, rate: float, workers: list[int]) -> list[list[str]]:
    from gis.areas.importer import import_areas
    from gis.areas.reading import read_area_file
    from gis.store.db import make_engine

    rows: list[list[str]] = []
    with throwaway_db("serve", admin_url()) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            source = read_area_file(TOWNSHIPS, code_field="id", name_field="name")
            import_areas(conn, source, level="street", description="bench", activate=True)
        engine.dispose()
        rows += inprocess_part(url)
        for n in workers:
            env = {"WANGGE_RATE_LIMIT_PER_SECOND": "1e9", "WANGGE_RATE_LIMIT_BURST": "1000000"}
            with api_server(url, command=uvicorn_bench(n), env=env, timeout_s=300) as api:
                paths = {
                    "trivial": f"{api.base}/v1/assign-trivial?{POINT}",
                    "assign": f"{api.base}/v1/assign?{POINT}",
                }
                for path in paths.values():  # warm: the key check, the answer templates
                    wrk(path, api.key, 1, rate=None)
                print(f"  {n} worker(s): {load()}", flush=True)
                top: dict[str, float] = {}
                for name, path in [*paths.items(), *paths.items()]:  # alternate, twice
                    got = wrk(path, api.key, seconds, rate=None)
                    top[name] = max(top.get(name, 0.0), got["rps"])
                    bad = int(got["non2xx"] + got["errors"])
                    rows.append(
                        [f"{n}", name, "max (8 conn.)", f"{got['rps']:,.0f}", "", "", f"{bad}"]
                    )
                for name, path in paths.items():
                    got = wrk(path, api.key, seconds, rate=rate)
                    bad = int(got["non2xx"] + got["errors"])
                    rows.append(
                        [
                            f"{n}",
                            name,
                            f"fixed {rate:.0f}/s",
                            f"{got['rps']:,.0f}",
                            f"{got['p50'] / 1e3:.2f}",
                            f"{got['p99'] / 1e3:.2f}",
                            f"{bad}",
                        ]
                    )
                ratio = f"{top['assign'] / top['trivial']:.2f}×"
                rows.append([f"{n}", "assign/trivial", "best max", ratio, "", "", ""])
                print(f"  {n} worker(s) done: {load()}", flush=True)
    return rows


def inprocess_part(url: str, n: int = 2000) -> list[list[str]]:
    """CPU per request of the app itself, called in this process (no sockets, no server):
    figures the machine's load hardly moves."""
    import _asgi_direct as D
    import _serve_app
    from _common import create_admin_key

    key = create_admin_key(url)
    saved = dict(os.environ)
    os.environ.update(
        WANGGE_DATABASE_URL=url,
        WANGGE_RATE_LIMIT_PER_SECOND="1e9",
        WANGGE_RATE_LIMIT_BURST="1000000",
    )
    try:
        app = _serve_app.app()
    finally:
        os.environ.clear()
        os.environ.update(saved)

    async def measure() -> list[list[str]]:
        rows = []
        for name, path in [("trivial", "/v1/assign-trivial"), ("assign", "/v1/assign")] * 2:
            cpu, _wall, status = await D.cpu_per_request(app, path, POINT, key, n)
            rows.append(["0", name, "in process", f"{1e6 / cpu:,.0f}", f"{cpu:.0f} µs CPU", "", ""])
            assert status == 200, status
        return rows

    rows: list[list[str]] = D.run(app, measure())
    print(f"  in process done: {load()}", flush=True)
    return rows


# ------------------------------------------------------------------------------- memory


def smaps(pid: int) -> dict[str, float]:
    """RSS, private memory and the RSS of the shared index mapping of ``pid``, in MB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    kb = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
    shared_index = 0
    current = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = line
        elif line.startswith("Rss:") and "/index/" in current and ".npy" in current:
            shared_index += int(line.split()[1])
    return {
        "rss": kb["Rss"] / 1024,
        "pss": kb["Pss"] / 1024,
        "private": (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024,
        "index": shared_index / 1024,
    }


@contextlib.contextmanager
def wangge_serve(url: str, workers: int, home: Path) -> Iterator[Any]:
    wangge = str(Path(sys.executable).parent / "wangge")
    with api_server(
        url,
        command=lambda port: [wangge, "serve", "--port", str(port), "--workers", str(workers)],
        env={"WANGGE_HOME": str(home)},
        timeout_s=600,
        quiet=True,
    ) as api:
        yield api


def memory_part(cells: int, workers: list[int]) -> list[list[str]]:
    import _shapes as S
    import httpx
    from assign_scale import load_layer

    rows: list[list[str]] = []
    codes, geoms = S.voronoi_tiling(cells, cells * 15, seed=7)
    with throwaway_db("servemem", admin_url()) as url:
        load_layer(url, codes, geoms, "micro_grid")
        # a home of its own (the shared index files), next to no managed cluster: the
        # database is WANGGE_DATABASE_URL
        home = Path(tempfile.mkdtemp(prefix="wangge-serve-bench-"))
        try:
            for n in workers:
                print(f"  {n} worker(s) starting: {load()}", flush=True)
                with wangge_serve(url, n, home) as api:
                    # every worker answers a few requests (the OS spreads connections)
                    for _ in range(20 * n):
                        with httpx.Client(base_url=api.base, headers=api.headers) as c:
                            c.get("/v1/assign", params={"lon": 121.47, "lat": 31.23})
                    time.sleep(1.0)
                    kids = subprocess.run(
                        ["ps", "-o", "pid=", "--ppid", str(api.proc.pid)],
                        capture_output=True,
                        text=True,
                    ).stdout.split()
                    figures = [smaps(int(k)) for k in kids]
                    figures = [f for f in figures if f["rss"] > 60]  # not the resource tracker
                    master = smaps(api.proc.pid)
                    for i, f in enumerate(sorted(figures, key=lambda f: f["rss"])):
                        rows.append(
                            [
                                f"{n}",
                                f"worker {i + 1}",
                                f"{f['rss']:.0f}",
                                f"{f['index']:.0f}",
                                f"{f['rss'] - f['index']:.0f}",
                                f"{f['private']:.0f}",
                                f"{f['pss']:.0f}",
                            ]
                        )
                    rows.append([f"{n}", "master", f"{master['rss']:.0f}", "", "", "", ""])
                    print(f"  {n} worker(s) measured: {load()}", flush=True)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--memory-workers", default="1,2,4")
    parser.add_argument("--cells", type=int, default=45_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    print(machine_line())
    print(f"start: {load()}", flush=True)
    if not args.skip_http:
        rows = http_part(args.seconds, args.rate, [int(w) for w in args.workers.split(",")])
        print()
        print(f"GET /v1/assign vs a trivial endpoint, townships (252), wrk -t1, {args.seconds:g} s")
        print(
            table(
                ["workers", "endpoint", "load", "req/s", "p50 ms", "p99 ms", "non-2xx"],
                rows,
            )
        )
        print(f"after HTTP: {load()}", flush=True)
    if not args.skip_memory:
        rows = memory_part(args.cells, [int(w) for w in args.memory_workers.split(",")])
        print()
        print(f"memory per worker, `wangge serve`, Shanghai-wide layer, {args.cells:,} cells (MB)")
        print(
            table(
                ["workers", "process", "RSS", "shared index", "RSS - index", "private", "PSS"],
                rows,
            )
        )
        print(f"after memory: {load()}", flush=True)


if __name__ == "__main__":
    main()
