"""The demo street served over HTTP with two boundary generations, for the OGC tests.

Generation 1 is the demo street as shipped; generation 2 re-imports the micro-grids with the
last one removed and the first one renamed, so ``datetime`` between the two activations
must answer with 306 micro-grids and the old name, and now with 305 and the new one.
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
from sqlalchemy import Engine

from gis.areas.generations import activate, list_generations
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.demo_load import load_demo
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import DEMO_DATA, LiveServer

RENAMED = "改名微网格"
GDAL_TIMEOUT_S = 300


@dataclass(frozen=True)
class DemoServer:
    url: str
    engine: Engine
    between: datetime  # after generation 1's activation, before generation 2's
    renamed_code: str
    removed_code: str


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


@pytest.fixture(scope="session")
def demo_server(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoServer]:
    url = new_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_demo(conn, DEMO_DATA)
    renamed, removed = _second_generation(engine, tmp_path_factory.mktemp("ogc"))
    with engine.connect() as conn:
        times = {g.id: g.activated_at for g in list_generations(conn)}
    assert times[1] is not None and times[2] is not None and times[1] < times[2]
    between = times[1] + (times[2] - times[1]) / 2
    try:
        with LiveServer(Settings(database_url=url)) as live:
            yield DemoServer(live.url, engine, between, renamed, removed)
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


@pytest.fixture(scope="session")
def gdal() -> Iterator[Gdal]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        yield Gdal(pool)
