"""Address normalisation: one messy writing per row, the canonical text and components."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.geocode import normalize
from gis.geocode.noise import digitwise, positional
from gis.geocode.normalize import chinese_number

CASES = [
    # (input, normalized, district, road, lane, number, building, unit, room)
    ("兰溪路99弄12号", "兰溪路99弄12号", None, "兰溪路", "99", "12", None, None, None),
    # full-width digits, ideographic and ASCII spaces
    ("兰溪路\u3000９９弄 １２号", "兰溪路99弄12号", None, "兰溪路", "99", "12", None, None, None),
    # Chinese numerals, positional and digit by digit
    ("曹杨路三百二十一弄", "曹杨路321弄", None, "曹杨路", "321", None, None, None, None),
    ("曹杨路三二一弄", "曹杨路321弄", None, "曹杨路", "321", None, None, None, None),
    (
        "曹杨路一千八百八十八弄十二号",
        "曹杨路1888弄12号",
        None,
        "曹杨路",
        "1888",
        "12",
        None,
        None,
        None,
    ),
    ("曹杨路一八八八弄", "曹杨路1888弄", None, "曹杨路", "1888", None, None, None, None),
    ("曹杨路一百零五号", "曹杨路105号", None, "曹杨路", None, "105", None, None, None),
    ("曹杨路十号", "曹杨路10号", None, "曹杨路", None, "10", None, None, None),
    # building synonyms
    ("杏山路49弄3幢", "杏山路49弄3幢", None, "杏山路", "49", None, "3", None, None),
    ("杏山路49弄3栋", "杏山路49弄3幢", None, "杏山路", "49", None, "3", None, None),
    ("杏山路49弄3号楼", "杏山路49弄3幢", None, "杏山路", "49", None, "3", None, None),
    ("杏山路49弄3座", "杏山路49弄3幢", None, "杏山路", "49", None, "3", None, None),
    ("杏山路49弄三号楼", "杏山路49弄3幢", None, "杏山路", "49", None, "3", None, None),
    ("杏山路49弄3#", "杏山路49弄3号", None, "杏山路", "49", "3", None, None, None),
    ("杏山路49弄B座", "杏山路49弄B幢", None, "杏山路", "49", None, "B", None, None),
    # unit and room
    (
        "杏山路49弄3号2单元301室",
        "杏山路49弄3号2单元301室",
        None,
        "杏山路",
        "49",
        "3",
        None,
        "2",
        "301",
    ),
    ("杏山路49弄3号301", "杏山路49弄3号301室", None, "杏山路", "49", "3", None, None, "301"),
    # stray spaces and punctuation; a dash between digits is a range and stays
    ("杏山路，49弄 - 3号。", "杏山路49弄3号", None, "杏山路", "49", "3", None, None, None),
    ("平武路36-38号", "平武路36-38号", None, "平武路", None, "36-38", None, None, None),
    ("龙-轩-路1650弄", "龙轩路1650弄", None, "龙轩路", "1650", None, None, None, None),
    # leading city, district and street/town names
    ("上海市普陀区兰溪路99弄", "兰溪路99弄", "普陀区", "兰溪路", "99", None, None, None, None),
    (
        "上海普陀区真如镇街道兰溪路99弄",
        "兰溪路99弄",
        "普陀区",
        "兰溪路",
        "99",
        None,
        None,
        None,
        None,
    ),
    (
        "上海市浦东新区北蔡镇黄家队黄家宅",
        "黄家队黄家宅",
        "浦东新区",
        "黄家队黄家宅",
        None,
        None,
        None,
        None,
        None,
    ),
    (
        "嘉定区菊园新区叶城路1500弄",
        "叶城路1500弄",
        "嘉定区",
        "叶城路",
        "1500",
        None,
        None,
        None,
        None,
    ),
    # a town-like word that is part of a road name stays
    ("法华镇路683号", "法华镇路683号", None, "法华镇路", None, "683", None, None, None),
    ("浦东南路588号", "浦东南路588号", None, "浦东南路", None, "588", None, None, None),
    # trailing descriptions
    ("兰溪路99弄12号门口", "兰溪路99弄12号", None, "兰溪路", "99", "12", None, None, None),
    ("兰溪路99弄对面", "兰溪路99弄", None, "兰溪路", "99", None, None, None, None),
    ("长风三村附近", "长风三村", None, "长风三村", None, None, None, None, None),
    ("长风三村小区南门", "长风三村小区", None, "长风三村小区", None, None, None, None, None),
    # a numeral that is part of a name is not a number
    ("长风三村", "长风三村", None, "长风三村", None, None, None, None, None),
    ("雪野二路997号", "雪野二路997号", None, "雪野二路", None, "997", None, None, None),
    # remarks in brackets
    ("安顺路231弄（住宅）", "安顺路231弄", None, "安顺路", "231", None, None, None, None),
    # bare digits after a road or lane are the house number (a dash: then the room)
    ("兰溪路99弄12", "兰溪路99弄12号", None, "兰溪路", "99", "12", None, None, None),
    ("兰溪路99弄12-301", "兰溪路99弄12号301室", None, "兰溪路", "99", "12", None, None, "301"),
    ("曲阳路383", "曲阳路383号", None, "曲阳路", None, "383", None, None, None),
    ("曲阳路383-5", "曲阳路383号5室", None, "曲阳路", None, "383", None, None, "5"),
    (
        "三航路13-01工地生活区",
        "三航路13-01工地生活区",
        None,
        "三航路13-01工地生活区",
        None,
        None,
        None,
        None,
        None,
    ),
    # no road at all
    ("12号", "12号", None, None, None, "12", None, None, None),
]


@pytest.mark.parametrize(
    ("text", "normalized", "district", "road", "lane", "number", "building", "unit", "room"),
    CASES,
)
def test_normalize(
    text: str,
    normalized: str,
    district: str | None,
    road: str | None,
    lane: str | None,
    number: str | None,
    building: str | None,
    unit: str | None,
    room: str | None,
) -> None:
    got, components = normalize(text)
    assert got == normalized
    assert components == {
        "district": district,
        "road": road,
        "lane": lane,
        "number": number,
        "building": building,
        "unit": unit,
        "room": room,
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三百二十一", 321),
        ("三二一", 321),
        ("十", 10),
        ("十二", 12),
        ("一百零五", 105),
        ("二零八", 208),
        ("两千", 2000),
        ("一千八百八十八", 1888),
    ],
)
def test_chinese_number(text: str, value: int) -> None:
    assert chinese_number(text) == value


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=9999))
def test_both_numeral_styles_read_back(n: int) -> None:
    assert chinese_number(positional(n)) == n
    assert chinese_number(digitwise(n)) == n
    assert normalize(f"兰溪路{positional(n)}弄")[1]["lane"] == str(n)
