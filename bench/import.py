"""Import benchmark: wangge's boundary import pipeline vs geopandas.read_file + to_postgis.

    .venv/bin/python bench/import.py [--repeats 5] [--wait-demo SECONDS]

Datasets: (a) the 252 Shanghai townships (read in place from ../shared/data), level street;
(b) the demo street's six level files (data/boundaries), in hierarchy order with parent_code.

wangge = ``read_area_file`` / ``read_demo_levels`` (read, CRS check, validation, make_valid
repair, geodesic areas) + ``import_areas`` for each level in ONE transaction (hierarchy check,
history/carry-over comparison, INSERT areas, INSERT area_parts via ST_Subdivide(128),
ANALYZE), committed. peer = ``geopandas.read_file`` + ``GeoDataFrame.to_postgis`` (SQLAlchemy
engine, GeoAlchemy2; creates the table and its GiST index) into a scratch table per file.
Both run against the same throwaway database, alternating, after one untimed warm-up each;
the figures are medians. Between repeats (untimed) wangge's tables are truncated and the
scratch tables dropped, so every timed run writes into empty tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEMO_DATA,
    TOWNSHIPS,
    admin_url,
    demo_area_files,
    fmt_times,
    machine_line,
    postgis_version,
    table,
    throwaway_db,
    timed,
    wait_for_file,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--wait-demo",
        type=float,
        default=0.0,
        help="seconds to wait for data/boundaries/micro_grids.geojson to appear",
    )
    args = ap.parse_args()

    import geopandas
    from sqlalchemy import Engine, text

    from gis.areas.importer import import_areas
    from gis.areas.reading import read_area_file
    from gis.demo_load import read_demo_levels
    from gis.store.db import make_engine

    demo_levels = demo_area_files()
    t_start = time.perf_counter()
    demo_ready = all((DEMO_DATA / name).exists() for _, name in demo_levels)
    if not demo_ready and args.wait_demo > 0:
        print(
            f"waiting up to {args.wait_demo:.0f} s for the demo street in {DEMO_DATA} …", flush=True
        )
        wait_for_file(DEMO_DATA / demo_levels[-1][1], args.wait_demo)
        time.sleep(2.0)  # let the writer finish the last file
        demo_ready = all((DEMO_DATA / name).exists() for _, name in demo_levels)

    admin = admin_url()

    def reset_wangge(engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE generations, areas, area_parts RESTART IDENTITY CASCADE"))

    def drop_scratch(engine: Engine, names: list[str]) -> None:
        with engine.begin() as conn:
            for n in names:
                conn.execute(text(f'DROP TABLE IF EXISTS "{n}"'))

    results: list[dict[str, object]] = []

    with throwaway_db("import", admin) as url:
        engine = make_engine(url)
        pg_version = postgis_version(url)
        print(f"throwaway database ready ({pg_version})", flush=True)

        # ---------------------------------------------------------------- datasets
        datasets: list[tuple[str, list[tuple[str, Path, dict[str, str | None]]]]] = [
            (
                "Shanghai townships",
                [
                    (
                        "street",
                        TOWNSHIPS,
                        {"code_field": "id", "name_field": "name", "parent_field": None},
                    )
                ],
            ),
        ]
        if demo_ready:
            datasets.append(
                (
                    "demo street (6 levels)",
                    [
                        (
                            level,
                            DEMO_DATA / name,
                            {
                                "code_field": "code",
                                "name_field": "name",
                                "parent_field": "parent_code",
                            },
                        )
                        for level, name in demo_levels
                    ],
                )
            )

        for label, files in datasets:
            scratch = [f"bench_scratch_{level}" for level, _, _ in files]
            is_demo = len(files) > 1

            def run_wangge(files=files, is_demo=is_demo) -> dict[str, float | int]:
                t0 = time.perf_counter()
                if is_demo:
                    sources = read_demo_levels(DEMO_DATA)
                else:
                    level, path, opts = files[0]
                    sources = [(level, read_area_file(path, **opts))]
                t1 = time.perf_counter()
                with engine.begin() as conn:
                    for level, source in sources:
                        import_areas(conn, source, level=level, description="bench")
                t2 = time.perf_counter()
                return {
                    "read": t1 - t0,
                    "write": t2 - t1,
                    "features": sum(len(s.features) for _, s in sources),
                    "repairs": sum(len(s.repairs) for _, s in sources),
                }

            def run_peer(files=files, scratch=scratch) -> dict[str, float | int]:
                read = write = 0.0
                n = 0
                for (_level, path, _opts), name in zip(files, scratch, strict=True):
                    t0 = time.perf_counter()
                    gdf = geopandas.read_file(path)
                    t1 = time.perf_counter()
                    gdf.to_postgis(name, engine, if_exists="fail", index=False)
                    t2 = time.perf_counter()
                    read += t1 - t0
                    write += t2 - t1
                    n += len(gdf)
                return {"read": read, "write": write, "features": n}

            # warm-up (imports, file cache, connection pool), untimed
            reset_wangge(engine)
            run_wangge()
            drop_scratch(engine, scratch)
            run_peer()

            w_times: list[float] = []
            p_times: list[float] = []
            w_parts: list[dict[str, float | int]] = []
            p_parts: list[dict[str, float | int]] = []
            for _ in range(args.repeats):
                reset_wangge(engine)
                t, r = timed(run_wangge)
                w_times.append(t)
                w_parts.append(r)
                drop_scratch(engine, scratch)
                t, r = timed(run_peer)
                p_times.append(t)
                p_parts.append(r)

            with engine.connect() as conn:
                n_areas = conn.execute(text("SELECT count(*) FROM areas")).scalar_one()
                n_parts = conn.execute(text("SELECT count(*) FROM area_parts")).scalar_one()
                n_peer = sum(
                    conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in scratch
                )
            import statistics as st

            w_med, p_med = st.median(w_times), st.median(p_times)
            res = {
                "dataset": label,
                "features": w_parts[0]["features"],
                "peer_features": p_parts[0]["features"],
                "areas": n_areas,
                "parts": n_parts,
                "peer_rows": n_peer,
                "repairs": w_parts[0]["repairs"],
                "w_med": w_med,
                "p_med": p_med,
                "w_times": w_times,
                "p_times": p_times,
                "w_read": st.median(float(p["read"]) for p in w_parts),
                "w_write": st.median(float(p["write"]) for p in w_parts),
                "p_read": st.median(float(p["read"]) for p in p_parts),
                "p_write": st.median(float(p["write"]) for p in p_parts),
            }
            results.append(res)
            print(
                f"{label}: wangge {fmt_times(w_times)} s, peer {fmt_times(p_times)} s", flush=True
            )
            reset_wangge(engine)
            drop_scratch(engine, scratch)
        engine.dispose()

    total = time.perf_counter() - t_start
    rows = [
        [
            str(r["dataset"]),
            str(r["features"]),
            f"{r['w_med']:.3f}",
            f"{r['p_med']:.3f}",
            f"{float(r['w_med']) / float(r['p_med']):.2f}×",
        ]
        for r in results
    ]
    split = [
        [
            str(r["dataset"]),
            f"{r['w_read']:.3f}",
            f"{r['w_write']:.3f}",
            f"{r['p_read']:.3f}",
            f"{r['p_write']:.3f}",
            f"{r['areas']} areas + {r['parts']} parts / {r['peer_rows']} rows",
        ]
        for r in results
    ]
    print()
    print("=" * 78)
    print("IMPORT BENCHMARK — wangge import pipeline vs geopandas.read_file + to_postgis")
    print("=" * 78)
    print(machine_line())
    print(pg_version)
    print(
        f"median of {args.repeats} runs each (after one warm-up), same throwaway DB, "
        "alternating; ratio = wangge / peer (>1: wangge slower)"
    )
    print()
    print(table(["dataset", "features", "wangge s", "peer s", "ratio"], rows))
    print()
    print(
        "split (medians, s): read = file → validated features / GeoDataFrame; "
        "write = DB transaction"
    )
    print(
        table(
            [
                "dataset",
                "wangge read",
                "wangge write",
                "peer read",
                "peer write",
                "rows written (wangge / peer)",
            ],
            split,
        )
    )
    print()
    print("Note: wangge does more work than the peer: per-feature validation (codes, names,")
    print("parents, geometry kind, lon/lat range), make_valid repair of invalid polygons,")
    print("geodesic areas, the generation lock + hierarchy check + history comparison with")
    print("the previous generation, area_parts via ST_Subdivide(128 vertices) and ANALYZE,")
    print("all in one all-or-nothing transaction. The peer writes one plain table per file")
    print("(with a GiST index) and checks nothing.")
    if not demo_ready:
        print(f"\n(demo street not measured: {DEMO_DATA} has no complete set of level files)")
    print(f"total benchmark time {total:.0f} s")


if __name__ == "__main__":
    main()
