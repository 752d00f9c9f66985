"""Matching rules on a small gazetteer: numbers exact, only road names fuzzy, district scope,
needs_review with candidates instead of a guessed number."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.geocode import Gazetteer, GeocodeResult, Record

ROWS = [
    ("A1", "曹扬路188弄", 121.4000, 31.2400, "普陀区"),
    ("A2", "曹杨路500弄", 121.4100, 31.2450, "普陀区"),
    ("B1", "兰溪路99弄12号", 121.4010, 31.2480, "普陀区"),
    ("B2", "兰溪路99弄13号", 121.4012, 31.2481, "普陀区"),
    ("C1", "人民路1号", 121.4800, 31.2300, "黄浦区"),
    ("C2", "人民路1号", 121.2300, 31.0300, "松江区"),
    ("D1", "张东路2281弄", 121.6000, 31.2000, "浦东新区"),
    ("E1", "常徳路1185弄", 121.4400, 31.2300, "静安区"),
    ("E2", "常德路1185弄", 121.4450, 31.2350, "静安区"),
    ("F1", "长风三村", 121.3900, 31.2200, "普陀区"),
    ("G1", "陆家浜", 121.5000, 31.1000, "黄浦区"),
    ("G2", "陆家浜路804弄", 121.4900, 31.2100, "黄浦区"),
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_records(Record(c, a, x, y, d) for c, a, x, y, d in ROWS)


def confident(result: GeocodeResult, code: str) -> None:
    assert not result.needs_review, result
    assert result.code == code
    row = next(r for r in ROWS if r[0] == code)
    assert (result.lon, result.lat) == (row[2], row[3])
    assert result.standard_address == row[1]


@pytest.mark.parametrize(
    ("text", "code", "road_match", "level"),
    [
        ("兰溪路99弄12号", "B1", "exact", "number"),
        ("上海市普陀区兰溪路九十九弄十二号门口", "B1", "exact", "number"),
        ("蓝溪路99弄12号", "B1", "homophone", "number"),  # homophone
        ("南溪路99弄13号", "B2", "near_homophone", "number"),  # n/l confused
        ("兰溪99弄12号", "B1", "suffix", "number"),  # missing 路
        ("兰溪路99弄12号楼", "B1", "exact", "number"),  # 12号楼 for 12号
        ("兰溪路99弄12栋3单元", "B1", "exact", "number"),  # and deeper than the gazetteer
        ("张东路2281弄5号", "D1", "exact", "lane"),  # the gazetteer only knows the lane
        ("长风三村附近", "F1", "exact", "road"),
        ("曹扬路一八八弄", "A1", "exact", "lane"),
    ],
)
def test_resolves(gazetteer: Gazetteer, text: str, code: str, road_match: str, level: str) -> None:
    result = gazetteer.geocode(text)
    confident(result, code)
    assert result.road_match == road_match
    assert result.match_level == level


def test_a_room_beyond_the_gazetteer_answers_the_house(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("兰溪路99弄12号3单元301室")
    confident(result, "B1")
    assert result.components["room"] == "301" and result.components["unit"] == "3"
    assert result.score < 1.0


def test_exact_answer_scores_one(gazetteer: Gazetteer) -> None:
    assert gazetteer.geocode("兰溪路99弄12号").score == 1.0
    assert gazetteer.geocode("蓝溪路99弄12号").score < 1.0


def test_numbers_never_change(gazetteer: Gazetteer) -> None:
    """曹杨路1888弄 must never become 曹扬路188弄."""
    for text in ("曹杨路1888弄", "曹扬路1888弄", "曹杨路一八八八弄"):
        result = gazetteer.geocode(text)
        assert result.needs_review and result.lon is None and result.code is None
        assert result.components["lane"] == "1888"


def test_missing_number_needs_review_with_candidates(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("兰溪路99弄14号")
    assert result.needs_review and result.lon is None and result.lat is None
    assert result.match_level == "lane" and result.standard_address == "兰溪路99弄"
    assert {c.code for c in result.candidates} == {"B1", "B2"}
    assert "14号" in (result.note or "")


def test_a_homophone_road_with_the_number_is_only_a_candidate(gazetteer: Gazetteer) -> None:
    """曹杨路 exists but has no 188弄; its homophone 曹扬路 has: offered, not answered."""
    result = gazetteer.geocode("曹杨路188弄")
    assert result.needs_review and result.lon is None
    assert result.candidates[0].code == "A1"


def test_a_bare_place_only_answers_when_no_road_has_the_numbers(
    gazetteer: Gazetteer,
) -> None:
    confident(gazetteer.geocode("长风三村12号"), "F1")
    result = gazetteer.geocode("陆家浜804弄")  # 陆家浜 knows no lanes; 陆家浜路 has 804弄
    assert result.needs_review and result.lon is None
    assert result.candidates[0].code == "G2"


def test_a_road_alone_needs_review(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("兰溪路")
    assert result.needs_review and result.lon is None and result.match_level == "road"
    assert "lane or house number" in (result.note or "")
    assert {c.code for c in result.candidates} == {"B1", "B2"}


def test_lane_centre(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("兰溪路99弄")
    assert not result.needs_review and result.match_level == "lane"
    assert result.standard_address == "兰溪路99弄"
    assert result.lon == pytest.approx(121.4011) and result.lat == pytest.approx(31.24805)


def test_district_scope(gazetteer: Gazetteer) -> None:
    both = gazetteer.geocode("人民路1号")
    assert both.needs_review and {c.code for c in both.candidates} == {"C1", "C2"}
    confident(gazetteer.geocode("人民路1号", district="松江区"), "C2")
    confident(gazetteer.geocode("人民路1号", district="松江"), "C2")
    confident(gazetteer.geocode("人民路1号", district=" 上海市松江区 "), "C2")
    confident(gazetteer.geocode("上海市黄浦区人民路1号"), "C1")
    # the district parameter wins over a district in the text
    confident(gazetteer.geocode("上海市黄浦区人民路1号", district="松江区"), "C2")
    # a road that is not in the district is not taken from another district
    outside = gazetteer.geocode("兰溪路99弄12号", district="黄浦区")
    assert outside.needs_review and outside.lon is None


def test_unknown_district_searches_everywhere_but_needs_review(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("兰溪路99弄12号", district="火星区")
    assert result.needs_review and "火星区" in (result.note or "")
    assert result.code == "B1"


def test_several_roads_fit(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("常得路1185弄")
    assert result.needs_review and result.lon is None
    assert {c.code for c in result.candidates} == {"E1", "E2"}


@pytest.mark.parametrize("text", ["12号", "", "   ", "！！！", "火星路1号"])
def test_nothing_found(gazetteer: Gazetteer, text: str) -> None:
    result = gazetteer.geocode(text)
    assert result.needs_review and result.lon is None and result.match_level == "none"


def test_geocode_many_keeps_order_and_districts(gazetteer: Gazetteer) -> None:
    results = gazetteer.geocode_many(["人民路1号", "兰溪路99弄12号"], districts=["黄浦区", None])
    assert [r.code for r in results] == ["C1", "B1"]
    assert [r.input for r in results] == ["人民路1号", "兰溪路99弄12号"]


def test_to_dict_is_json_ready(gazetteer: Gazetteer) -> None:
    import json

    data = gazetteer.geocode("兰溪路99弄14号").to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert set(data["components"]) == {
        "district",
        "road",
        "lane",
        "number",
        "building",
        "unit",
        "room",
    }


def test_nearest(gazetteer: Gazetteer) -> None:
    (i, distance), *_ = gazetteer.nearest(lon=121.4010, lat=31.2480)
    assert gazetteer.codes[i] == "B1" and distance == pytest.approx(0, abs=0.01)
    pairs = gazetteer.nearest(lon=121.4011, lat=31.2480, k=3)
    assert [d for _, d in pairs] == sorted(d for _, d in pairs)


@settings(max_examples=200, deadline=None)
@given(
    lanes=st.sets(st.integers(1, 3000), min_size=1, max_size=8),
    query=st.integers(1, 3000),
    road=st.sampled_from(["曹杨路", "曹扬路", "曹杨", "草杨路"]),
)
def test_a_confident_answer_always_has_the_asked_number(
    lanes: set[int], query: int, road: str
) -> None:
    """Reference: the answer is confident only if some road of the gazetteer has the lane."""
    rows = [Record(f"L{n}", f"曹杨路{n}弄", 121.4 + n * 1e-5, 31.2, None) for n in sorted(lanes)]
    rows.append(Record("X", "曹扬路7弄", 121.5, 31.3, None))
    result = Gazetteer.from_records(rows).geocode(f"{road}{query}弄")
    if not result.needs_review:
        assert result.components["lane"] == str(query)
        assert result.standard_address is not None
        assert result.standard_address.endswith(f"路{query}弄")
    if road == "曹杨路" and query in lanes:
        assert not result.needs_review and result.code == f"L{query}"
