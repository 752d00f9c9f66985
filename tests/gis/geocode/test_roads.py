"""The fuzzy road-name ladder: each rung finds what it should, most certain first."""

from __future__ import annotations

import pytest

from gis.geocode.roads import EXACT, HOMOPHONE, NEAR_HOMOPHONE, SUFFIX, TYPO, RoadNames

NAMES = ["曹杨路", "兰溪路", "长风三村", "零陵路", "零陵小区", "中山北路"]


@pytest.fixture(scope="module")
def roads() -> RoadNames:
    return RoadNames.build(NAMES)


@pytest.mark.parametrize(
    ("name", "score", "found"),
    [
        ("曹杨路", EXACT, ["曹杨路"]),
        ("曹杨", SUFFIX, ["曹杨路"]),  # a missing 路
        ("零陵", SUFFIX, ["零陵小区", "零陵路"]),
        ("长风三村小区", SUFFIX, ["长风三村"]),
        ("曹扬路", HOMOPHONE, ["曹杨路"]),
        ("蓝溪路", HOMOPHONE, ["兰溪路"]),
        ("南溪路", NEAR_HOMOPHONE, ["兰溪路"]),  # n/l
        ("中三北路", NEAR_HOMOPHONE, ["中山北路"]),  # sh/s
        ("中山西路", TYPO, ["中山北路"]),  # one other character
        ("火星路", 0.0, []),
    ],
)
def test_first_rung(roads: RoadNames, name: str, score: float, found: list[str]) -> None:
    assert roads.resolve(name) == (score, found)


def test_later_rungs_bring_only_new_names(roads: RoadNames) -> None:
    rungs = list(roads.rungs("曹杨路"))
    assert rungs[0] == (EXACT, ["曹杨路"])
    names = [n for _, found in rungs for n in found]
    assert len(names) == len(set(names))
    assert [s for s, _ in rungs] == sorted((s for s, _ in rungs), reverse=True)
