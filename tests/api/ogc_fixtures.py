"""The demo street served over HTTP with two boundary generations, for the OGC tests.

Generation 1 is the demo street as shipped; generation 2 re-imports the micro-grids with the
last one removed and the first one renamed, so ``datetime`` between the two activations
must answer with 306 micro-grids and the old name, and now with 305 and the new one.

Incidents: :data:`LOCATED` taken in through the real intake at building points (more than a
GDAL page), every other one with reporter :data:`PHONE`, and :data:`UNLOCATED` by an address
that cannot be resolved (stored with a NULL geometry, in review).
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import Engine, text

from gis.areas.generations import activate, list_generations
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.assign.service import Assigner
from gis.demo_load import load_demo
from gis.incidents.categories import ensure_categories
from gis.incidents.intake import IntakeContext, intake
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA, LiveServer

RENAMED = "改名微网格"
GDAL_TIMEOUT_S = 300
LOCATED = 130
UNLOCATED = 4
PHONE = "13812345678"


@dataclass(frozen=True)
class DemoServer:
    url: str
    engine: Engine
    between: datetime  # after generation 1's activation, before generation 2's
    renamed_code: str
    removed_code: str
    key: str  # an admin API key (issue 16)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def _second_generation(engine: Engine, folder: Path) -> tuple[str, str]:
    data = json.loads((DEMO_DATA / "micro_grids.geojson").read_text())
    removed = data["features"].pop()["properties"]["code"]
    first = data["features"][0]["properties"]
    first["name"] = RENAMED
    path = folder / "micro_grids_g2.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False))
    source = read_area_file(path, code_field="code", name_field="name", parent_field="parent_code")
    with engine.begin() as conn:
        import_areas(conn, source, level="micro_grid", description="one removed, one renamed")
        activate(conn)
    return first["code"], removed


def _incidents(engine: Engine) -> None:
    with engine.connect() as conn:
        points = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) AS p "
                "FROM buildings ORDER BY code LIMIT :n) b"
            ),
            {"n": LOCATED},
        ).all()
    bodies: list[dict[str, object]] = [
        {
            "category": "garbage",
            "source": "hotline",
            "lon": round(lon, 7),
            "lat": round(lat, 7),
            "reported_at": f"2026-11-{1 + k % 20:02d}T09:30:00+08:00",
            "reporter": {"name": "陈先生", "phone": PHONE} if k % 2 == 0 else None,
        }
        for k, (lon, lat) in enumerate(points)
    ]
    bodies += [
        {"category": "noise", "source": "hotline", "address": f"小区后门那边{k}号"}
        for k in range(UNLOCATED)
    ]
    ctx = IntakeContext(Assigner(engine, check_seconds=0))  # no gazetteer: addresses unresolved
    with engine.begin() as conn:
        ensure_categories(conn)
        taken = intake(conn, ctx, bodies)
    assert [t.error for t in taken if t.error] == []


@pytest.fixture(scope="session")
def demo_server(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
    renamed, removed = _second_generation(engine, tmp_path_factory.mktemp("ogc"))
    _incidents(engine)
    with engine.connect() as conn:
        times = {g.id: g.activated_at for g in list_generations(conn)}
    assert times[1] is not None and times[2] is not None and times[1] < times[2]
    between = times[1] + (times[2] - times[1]) / 2
    try:
        with LiveServer(Settings(database_url=url)) as live:
            yield DemoServer(live.url, engine, between, renamed, removed, live.key)
    finally:
        engine.dispose()


def _gdal_read(url: str, layer: str | None, options: dict[str, str]) -> gpd.GeoDataFrame:
    import pyogrio

    return pyogrio.read_dataframe(url, layer=layer, **options)


def _gdal_layers(url: str) -> list[tuple[str, str]]:
    import pyogrio

    return [(str(name), str(kind)) for name, kind in pyogrio.list_layers(url)]


class Gdal:
    """GDAL (pyogrio) in a child process. In the test process it would deadlock with
    LiveServer: pyogrio keeps the GIL while GDAL waits for the HTTP answer that the
    server thread needs the GIL to send."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool

    def read(self, url: str, layer: str | None = None, **options: str) -> gpd.GeoDataFrame:
        """``pyogrio.read_dataframe(url, layer=layer, **options)`` (open options as keywords)."""
        return self.pool.submit(_gdal_read, url, layer, options).result(GDAL_TIMEOUT_S)

    def layers(self, url: str) -> list[tuple[str, str]]:
        """``pyogrio.list_layers(url)`` as (name, geometry type) pairs."""
        return self.pool.submit(_gdal_layers, url).result(GDAL_TIMEOUT_S)


def _gdal_key(key: str) -> None:
    """Every GDAL HTTP request of the child process sends ``key`` as a Bearer token.

    Not ``GDAL_HTTP_HEADERS``: the OAPIF driver passes its own ``HEADERS`` option (Accept) on
    its requests, and that option replaces those headers (seen with GDAL 3.12.4)."""
    import pyogrio

    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": key})


@pytest.fixture(scope="session")
def gdal(demo_server: DemoServer) -> Iterator[Gdal]:
    """GDAL in a child process whose HTTP requests send the demo server's API key."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=context,
        initializer=_gdal_key,
        initargs=(demo_server.key,),
    ) as pool:
        yield Gdal(pool)
