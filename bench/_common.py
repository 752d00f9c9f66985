"""Shared helpers for the benchmarks: throwaway databases on the managed cluster, timing.

Nothing here touches the ``wangge`` database: every benchmark creates its own database
``wangge_bench_<kind>_<random>`` next to it and drops it at the end (also on Ctrl-C/errors).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `gis`/`api` are installed editable; this is a fallback
    sys.path.insert(0, str(ROOT))


def _reference_data() -> Path:
    """WANGGE_REFERENCE_DATA (default ../shared/data), relative paths from the project root."""
    from gis.settings import Settings

    path = Settings().reference_data.expanduser()
    return (path if path.is_absolute() else ROOT / path).resolve()


SHARED_DATA = _reference_data()
DEMO_DATA = ROOT / "data" / "boundaries"
TOWNSHIPS = SHARED_DATA / "shanghai_townships_wgs84.geojson"


def demo_area_files() -> tuple[tuple[str, str], ...]:
    """(level, file name) of the demo street's boundary files, in hierarchy order."""
    from gis.demo.generator import AREA_FILES

    return tuple(AREA_FILES)


def single_thread_env() -> None:
    """Pin numba / BLAS / OpenMP to one thread. Call before importing numpy or numba."""
    for var in (
        "NUMBA_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = "1"


def admin_url() -> str:
    """URL of the managed cluster's ``wangge`` database (the cluster is started if needed).

    Only used to CREATE/DROP the throwaway databases; nothing is read or written in it.
    """
    from gis.settings import Settings
    from gis.store.db import database_url

    return database_url(Settings())


@contextlib.contextmanager
def throwaway_db(kind: str, admin: str | None = None) -> Iterator[str]:
    """A fresh, migrated database on the managed cluster; yields its URL, drops it after."""
    from gis.store.cluster import create_database, drop_database
    from gis.store.db import make_engine
    from gis.store.migrate import upgrade

    admin = admin or admin_url()
    name = f"wangge_bench_{kind}_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    try:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url
    finally:
        drop_database(admin, name)


def pg_connect(url: str) -> Any:
    """An autocommit psycopg connection to the SQLAlchemy ``url`` (for COPY and raw SQL)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port,
        user=u.username,
        password=u.password,
        dbname=u.database,
        autocommit=True,
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median_of(
    fn: Callable[[], Any],
    repeats: int,
    *,
    before: Callable[[], Any] | None = None,
) -> tuple[float, list[float], Any]:
    """Median seconds of ``repeats`` calls (``before`` runs untimed ahead of each call)."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeats):
        if before is not None:
            before()
        t, result = timed(fn)
        times.append(t)
    return statistics.median(times), times, result


def fmt_times(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:.3f}" for t in times) + "]"


def machine_line() -> str:
    """One line describing the machine and library versions (for the summary block)."""
    import geopandas
    import numba
    import shapely

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), "
        f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
        f"geopandas {geopandas.__version__}, numba {numba.__version__}; "
        f"load average now {load} (other work on the box inflates the figures)"
    )


def postgis_version(url: str) -> str:
    from sqlalchemy import text

    from gis.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar_one()
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        return f"PostgreSQL {pg}, PostGIS {postgis}"
    finally:
        engine.dispose()


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text (Markdown-compatible) table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def wait_for_file(path: Path, timeout_s: float, poll_s: float = 15.0) -> bool:
    """Wait (bounded) for ``path`` to appear; True if it exists."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uvicorn_command(port: int) -> list[str]:
    """The API in one uvicorn worker (access log off) on ``port``."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


def create_admin_key(url: str, name: str = "bench") -> str:
    """A new admin API key in the database at ``url`` (every endpoint needs one, issue 16)."""
    from gis.security.keys import create_key
    from gis.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return create_key(conn, role="admin", name=name).key
    finally:
        engine.dispose()


class ApiServer(NamedTuple):
    """A running API: base URL, its process, seconds from start to the first healthy
    ``/healthz``, and an admin key of its database (send ``headers`` with every request)."""

    base: str
    proc: subprocess.Popen[bytes]
    start_s: float
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


@contextlib.contextmanager
def api_server(
    url: str,
    *,
    command: Callable[[int], list[str]] = uvicorn_command,
    env: dict[str, str] | None = None,
    timeout_s: float = 120.0,
    quiet: bool = False,
) -> Iterator[ApiServer]:
    """The API against database ``url`` in a subprocess on a free port, with a new admin key
    in that database (made before the server starts) and no per-key rate limit (a benchmark
    drives one key far past it; ``env`` may set one). Stopped (this process only: terminate,
    then kill after 60 s) on exit."""
    import httpx

    key = create_admin_key(url)
    port = free_port()
    environment = {
        **os.environ,
        "WANGGE_DATABASE_URL": url,
        "WANGGE_PORT": str(port),
        "WANGGE_RATE_LIMIT_PER_SECOND": "0",
        **(env or {}),
    }
    out = subprocess.DEVNULL if quiet else None
    started = time.perf_counter()
    proc = subprocess.Popen(command(port), cwd=ROOT, env=environment, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(
                    f"the API server did not become healthy within {timeout_s:.0f} s"
                )
            time.sleep(0.1)
        yield ApiServer(base, proc, time.perf_counter() - started, key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
