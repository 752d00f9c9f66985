"""OGC API – Features benchmark: reading all 306 micro-grids and all 3,172 buildings of the
demo street through GDAL's OAPIF driver (what QGIS and ogr2ogr do) vs the same read from
``/v1/areas`` pages vs PostGIS directly (``geopandas.read_postgis``).

    .venv/bin/python bench/ogc.py [--repeats 5]

* Database: a throwaway database holding the demo street (``gis.demo_load.load_demo``).
* Server: uvicorn, one worker (``--factory api.app:app_from_env``) in a subprocess on
  127.0.0.1, access log off.
* OAPIF: ``pyogrio.read_dataframe("OAPIF:<server>/ogc/", layer=…)`` with GDAL's own paging
  (it reads the limit's maximum from the OpenAPI document: 1000 per page); includes GDAL's
  landing page / API / collections requests, as a desktop client makes them.
* /v1/areas: httpx, one keep-alive connection, ``limit=1000`` following ``next`` links,
  then ``GeoDataFrame.from_features`` (so every column ends in a GeoDataFrame, as with
  OAPIF). There is no /v1 buildings endpoint: that cell is n/a.
* PostGIS: ``geopandas.read_postgis`` of the same columns (micro-grids of the current
  generation; every building), over the same loopback TCP.
* Each figure is the median of ``--repeats`` runs after one untimed warm-up; every run's
  count is checked against the database.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
from collections.abc import Callable
from typing import Any

from _common import (
    DEMO_DATA,
    ApiServer,
    api_server,
    fmt_times,
    machine_line,
    median_of,
    postgis_version,
    table,
    throwaway_db,
)


def gdal_sends(key: str) -> None:
    """Every GDAL HTTP request of this process sends ``key`` as a Bearer token (not
    ``GDAL_HTTP_HEADERS``: the OAPIF driver's own ``HEADERS`` option, Accept, replaces those)."""
    import pyogrio

    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": key})


def read_oapif(base: str, layer: str) -> Any:
    import pyogrio

    return pyogrio.read_dataframe(f"OAPIF:{base}/ogc/", layer=layer)


def read_v1(api: ApiServer, level: str) -> Any:
    import geopandas as gpd
    import httpx

    features: list[dict[str, Any]] = []
    with httpx.Client(headers=api.headers, timeout=60) as client:
        url: str | None = f"{api.base}/v1/areas?level={level}&limit=1000"
        while url:
            page = client.get(url).raise_for_status().json()
            features.extend(page["features"])
            url = next((x["href"] for x in page["links"] if x["rel"] == "next"), None)
    return gpd.GeoDataFrame.from_features(features, crs="OGC:CRS84")


def read_postgis(engine: Any, sql: str) -> Any:
    import geopandas as gpd

    with engine.connect() as conn:
        return gpd.read_postgis(sql, conn, geom_col="geom")


SQL = {
    "micro_grid": "SELECT code, name, level, parent_code, area_m2, attributes, geom FROM areas "
    "WHERE level = 'micro_grid' AND valid @> (SELECT id FROM generations "
    "WHERE state = 'current') ORDER BY code",
    "buildings": "SELECT code, name, address, households, residents, attributes, geom "
    "FROM buildings ORDER BY code",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from gis.demo_load import load_demo
    from gis.store.db import make_engine

    with throwaway_db("ogc") as url:
        engine = make_engine(url)
        try:
            print("loading the demo street …", file=sys.stderr)
            with engine.begin() as conn:
                load_demo(conn, DEMO_DATA)
            with api_server(url) as api:
                rows, spreads = run(engine, api, args.repeats)
            versions = postgis_version(url)
        finally:
            engine.dispose()
    header = ["read", "rows", "OAPIF (GDAL)", "/v1/areas pages", "PostGIS direct",
              "OAPIF / PostGIS", "OAPIF / v1"]  # fmt: skip
    print(table(header, rows))
    print()
    for line in spreads:
        print(line)
    print(f"\n{machine_line()}; {versions}; median of {args.repeats}")


def run(engine: Any, api: ApiServer, repeats: int) -> tuple[list[list[str]], list[str]]:
    gdal_sends(api.key)
    rows: list[list[str]] = []
    spreads: list[str] = []
    for name, collection, level in (
        ("micro-grids", "micro_grid", "micro_grid"),
        ("buildings", "buildings", None),
    ):
        expected = len(read_postgis(engine, SQL[collection]))
        readers: dict[str, Callable[[], Any] | None] = {
            "oapif": lambda c=collection: read_oapif(api.base, c),
            "v1": (lambda lv=level: read_v1(api, lv)) if level else None,
            "postgis": lambda c=collection: read_postgis(engine, SQL[c]),
        }
        times: dict[str, float] = {}
        for key, reader in readers.items():
            if reader is None:
                continue
            reader()  # warm-up (connections, caches, GDAL driver)
            median, each, frame = median_of(reader, repeats)
            assert len(frame) == expected, (key, len(frame), expected)
            times[key] = median
            spreads.append(f"{name:12s} {key:8s} {fmt_times(each)} s")
        rows.append(
            [
                name,
                str(expected),
                f"{times['oapif']:.3f} s",
                f"{times['v1']:.3f} s" if "v1" in times else "n/a",
                f"{times['postgis']:.3f} s",
                f"{times['oapif'] / times['postgis']:.1f}×",
                f"{times['oapif'] / times['v1']:.2f}×" if "v1" in times else "n/a",
            ]
        )
    return rows, spreads


if __name__ == "__main__":
    main()
