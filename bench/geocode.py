"""Geocoding benchmark: wangge's Gazetteer vs a naive ``rapidfuzz.process.extractOne`` over
the whole gazetteer, on messy Chinese addresses.

    .venv/bin/python bench/geocode.py [--queries 100000] [--naive-sample 1000] [--repeats 3]

Gazetteer: the 26,105 real Shanghai addresses of ../shared/data (read in place), imported
with ``wangge import addresses``'s code path (``gis.geocode.store.import_addresses``, COPY)
into a throwaway database and loaded back with ``Gazetteer.load`` (both timed once).

Queries: ``--queries`` messy variants derived from those addresses with
``gis.geocode.noise.Noiser`` (fixed seed; the kinds in turn: Chinese numerals in both styles,
full-width digits and ideographic spaces, 上海市/district/street (amap_township) prefixes,
stray spaces and punctuation, trailing words such as 门口/对面, road-name homophone typos or
a missing 路, and a mix), each with its district, as a hotline system would send them.

* wangge: ``Gazetteer.geocode_many(queries, districts=…)`` in one thread, median of
  ``--repeats`` (each repeat on the same queries).
* naive peer: ``rapidfuzz.process.extractOne(query, addresses)`` (default scorer WRatio, the
  26,105 standard address strings as choices, no preprocessing, no district) per query. It is
  far too slow for every query, so it runs on the first ``--naive-sample`` queries and its
  rate is extrapolated to all of them — printed as such.
* quality on the same sample for both: the share of queries whose answer is the very address
  the query was derived from, and the share of answers (confident ones, for wangge) whose
  lane/house number differs from the asked one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED_DATA, fmt_times, machine_line, median_of, throwaway_db

FILE = SHARED_DATA / "shanghai_covid2022_case_addresses_wgs84.geojson"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from rapidfuzz import process

    from gis.geocode import Gazetteer
    from gis.geocode.noise import KINDS, Noiser
    from gis.geocode.normalize import parse
    from gis.geocode.store import import_addresses
    from gis.store.db import make_engine

    features = json.loads(FILE.read_text())["features"]
    props = [f["properties"] for f in features]
    with throwaway_db("geocode") as url:
        engine = make_engine(url)
        try:
            t0 = time.perf_counter()
            with engine.begin() as conn:
                import_addresses(conn, FILE, address_field="address", district_field="district")
            t_import = time.perf_counter() - t0
            t0 = time.perf_counter()
            with engine.connect() as conn:
                gazetteer = Gazetteer.load(conn)
            t_load = time.perf_counter() - t0
        finally:
            engine.dispose()
    by_code = {code: i for i, code in enumerate(gazetteer.codes)}
    truth = [by_code[f"{p['district']}/{p['address']}"] for p in props]
    usable = [i for i in truth if gazetteer.parsed[i].road is not None]
    towns = {i: p["amap_township"] for i, p in zip(truth, props, strict=True)}
    noiser = Noiser(gazetteer.roads, seed=4242)
    queries: list[str] = []
    districts: list[str | None] = []
    asked: list[int] = []
    for n in range(args.queries):
        i = usable[n % len(usable)]
        address = gazetteer.addresses[i]
        kind = KINDS[n % len(KINDS)]
        queries.append(
            noiser.variant(
                address,
                kind,
                road=gazetteer.parsed[i].road,
                district=gazetteer.districts[i],
                town=towns[i],
            )
        )
        districts.append(gazetteer.districts[i])
        asked.append(i)

    gazetteer.geocode_many(queries[:1000], districts=districts[:1000])  # warm caches
    cpu: list[float] = []

    def ours() -> list[Any]:
        c0 = time.process_time()
        out = gazetteer.geocode_many(queries, districts=districts)
        cpu.append(time.process_time() - c0)
        return out

    t_ours, times, results = median_of(ours, args.repeats)
    ours_rate = len(queries) / t_ours
    cpu_rate = len(queries) / statistics.median(cpu)

    sample = min(args.naive_sample, len(queries))
    choices = gazetteer.addresses
    t0 = time.perf_counter()
    naive = [process.extractOne(q, choices) for q in queries[:sample]]
    t_naive_sample = time.perf_counter() - t0
    naive_rate = sample / t_naive_sample

    def number(i: int) -> tuple[str | None, str | None]:
        p = gazetteer.parsed[i]
        return p.lane, p.number

    ours_ok = ours_wrong = ours_confident = 0
    for r, i in zip(results, asked, strict=True):
        if r.needs_review:
            continue
        ours_confident += 1
        ours_ok += r.code == gazetteer.codes[i] or (
            r.lon == gazetteer.lons[i] and r.lat == gazetteer.lats[i]
        )
        got = parse(r.standard_address or "")
        ours_wrong += any(
            a is not None and a != b for a, b in zip((got.lane, got.number), number(i), strict=True)
        )
    naive_ok = naive_wrong = 0
    for match, i in zip(naive, asked[:sample], strict=True):
        j = match[2]
        naive_ok += j == i or (
            gazetteer.lons[j] == gazetteer.lons[i] and gazetteer.lats[j] == gazetteer.lats[i]
        )
        naive_wrong += number(j) != number(i)
    n = len(queries)
    print("geocoding: wangge Gazetteer vs naive rapidfuzz.process.extractOne")
    print(f"  gazetteer: {gazetteer.size:,} standard addresses, {len(gazetteer.roads):,} roads")
    print(f"  import (COPY) {t_import:.2f} s, Gazetteer.load {t_load:.2f} s")
    print(f"  queries: {n:,} messy variants ({', '.join(KINDS)} in turn), district given")
    print(
        f"  wangge:  {t_ours:.3f} s for {n:,} → {ours_rate:,.0f} addresses/s "
        f"(median of {args.repeats}: {fmt_times(times)})"
    )
    print(
        f"           CPU time of this process: {cpu_rate:,.0f} addresses/s "
        f"({fmt_times(cpu)}; wall time above includes waiting for a loaded box)"
    )
    print(
        f"  naive:   {t_naive_sample:.3f} s for a sample of {sample:,} → {naive_rate:,.1f} "
        f"addresses/s, EXTRAPOLATED to {n:,}: {n / naive_rate:,.0f} s"
    )
    print(f"  ratio:   wangge is {ours_rate / naive_rate:,.0f}× the naive peer")
    print(
        f"  quality (all {n:,}): wangge confident {ours_confident / n:.2%}, correct "
        f"{ours_ok / n:.2%}, confident with another number {ours_wrong}"
    )
    print(
        f"  quality (naive sample of {sample:,}): correct {naive_ok / sample:.2%}, "
        f"another number {naive_wrong / sample:.2%} (it has no notion of review)"
    )
    print(f"  {machine_line()}")


if __name__ == "__main__":
    main()
