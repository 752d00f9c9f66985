"""Must show, on the 26,105 real Shanghai addresses of the reference data (imported through the
real importer, loaded back as the gazetteer): the clean address resolves to its own point for
≥ 99%; messy variants (numerals, widths, prefixes, spacing, trailing words, road-name typos)
reach ≥ 95% correct top answers with zero confident answers carrying a different number."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Connection

from gis.geocode import Gazetteer
from gis.geocode.noise import KINDS, Noiser
from gis.geocode.normalize import parse
from gis.geocode.store import import_addresses
from tests.conftest import reference

pytestmark = pytest.mark.reference_data

FILE = "shanghai_covid2022_case_addresses_wgs84.geojson"


@pytest.fixture(scope="module")
def truth() -> list[dict[str, Any]]:
    data = json.loads(reference(FILE).read_text())
    return [
        {
            **f["properties"],
            "lon": f["geometry"]["coordinates"][0],
            "lat": f["geometry"]["coordinates"][1],
        }
        for f in data["features"]
    ]


@pytest.fixture
def gazetteer(conn: Connection) -> Gazetteer:
    report = import_addresses(
        conn, reference(FILE), address_field="address", district_field="district"
    )
    assert len(report.added) == 26_105
    return Gazetteer.load(conn)


@pytest.mark.slow
def test_real_addresses(gazetteer: Gazetteer, truth: list[dict[str, Any]]) -> None:
    by_code = {f"{t['district']}/{t['address']}": t for t in truth}
    own = {code: i for i, code in enumerate(gazetteer.codes)}
    assert len(own) == len(truth) == 26_105

    # clean: the address as stored, with its district
    clean = gazetteer.geocode_many(
        [t["address"] for t in truth], districts=[t["district"] for t in truth]
    )
    home = sum(
        1
        for t, r in zip(truth, clean, strict=True)
        if not r.needs_review and (r.lon, r.lat) == (t["lon"], t["lat"])
    )
    assert home / len(truth) >= 0.99, home / len(truth)

    # messy: one kind of mess per address, in turn; the district given as a caller would
    noiser = Noiser(gazetteer.roads, seed=20260412)
    tally: Counter[str] = Counter()
    wrong_number: list[tuple[str, str, str | None]] = []
    per_kind: Counter[str] = Counter()
    for n, code in enumerate(gazetteer.codes):
        i = own[code]
        parsed = gazetteer.parsed[i]
        if parsed.road is None:  # a gazetteer address with no road cannot be asked for
            continue
        t = by_code[code]
        kind = KINDS[n % len(KINDS)]
        messy = noiser.variant(
            t["address"], kind, road=parsed.road, district=t["district"], town=t["amap_township"]
        )
        result = gazetteer.geocode(messy, district=t["district"])
        per_kind[kind] += 1
        tally["asked"] += 1
        if not result.needs_review:
            tally["confident"] += 1
            answer = parse(result.standard_address or "")
            for mine, theirs in ((answer.lane, parsed.lane), (answer.number, parsed.number)):
                if mine is not None and mine != theirs:
                    wrong_number.append((t["address"], messy, result.standard_address))
            if (result.lon, result.lat) == (t["lon"], t["lat"]):
                tally["correct"] += 1
                tally["top"] += 1
        elif result.candidates and result.candidates[0].code == code:
            tally["top"] += 1
    asked = tally["asked"]
    assert asked > 26_000 and min(per_kind.values()) > 3_500
    assert wrong_number == []
    assert tally["top"] / asked >= 0.95, tally
    assert tally["correct"] / asked >= 0.95, tally
