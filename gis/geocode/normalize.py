"""Chinese address normalisation: messy text → canonical text and components.

``兰溪路 九十九弄 十二号楼 门口`` and ``上海市普陀区兰溪路99弄12幢`` both become ``兰溪路99弄12幢``
with components road 兰溪路, lane 99, building 12. What is changed: full-width and ideographic
characters (NFKC), spaces and punctuation, parenthesised remarks, Chinese numerals before a unit
(三百二十一弄 and 三二一弄 → 321弄), the building synonyms 幢/栋/号楼/座/# (→ 幢), leading 上海市,
district and street/town names, and trailing descriptions (门口, 对面, 附近, 小区南门…).
Numbers are never guessed: a numeral that is not followed by a unit (长风三村) is part of a name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

COMPONENT_KEYS = ("district", "road", "lane", "number", "building", "unit", "room")

# Shanghai's districts, current and merged away; only full names are stripped (浦东 alone may
# begin a road name: 浦东南路).
DISTRICTS = (
    "浦东新区",
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
    "闸北区",
    "卢湾区",
    "南汇区",
    "崇明县",
)

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGITS.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
_POWERS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇○一二两三四五六七八九十百千"
_UNITS = "支弄|弄|号|幢|栋|座|楼|单元|室|层"

_TRANSLATE = str.maketrans({"號": "号", "衖": "弄", "#": "号", "＃": "号", "棟": "栋"})
_PARENS = re.compile(r"[(\[【{<《][^)\]】}>》]*[)\]】}>》]")
_JUNK = re.compile(r"[^0-9A-Z\u4e00-\u9fff\-]+")
_DASHES = re.compile(r"-+")
_LOOSE_DASH = re.compile(r"(?<!\d)-|-(?!\d)")  # a dash not between digits is punctuation
_CN_NUMBER = re.compile(rf"[{_NUMERAL}]+(?=(?:{_UNITS}))")
_BUILDING = re.compile(r"(\d+|[A-Z])(?:号楼|幢|栋|座)")
_CITY = re.compile(r"^(?:中国)?(?:上海市|上海)(?:市辖区)?")
_DISTRICT = re.compile("^(" + "|".join(DISTRICTS) + ")")
_STREET = re.compile(
    r"^[\u4e00-\u9fff]{2,5}?街道|^[\u4e00-\u9fff]{2,3}?新区(?![路街])"
    r"|^[\u4e00-\u9fff]{1,4}?(?:新镇|镇)(?![路街弄巷村宅队])"
)
TRAILING = (
    *[
        "门口",
        "对面",
        "附近",
        "旁边",
        "边上",
        "隔壁",
        "周边",
        "一带",
        "楼下",
        "楼道",
        "门前",
        "后门",
        "前门",
        "大门",
        "正门",
        "侧门",
    ],
    *(f"{side}{what}" for side in "东南西北" for what in "门侧"),
)
_NAME_START = re.compile(r"[^\d\-]{2}")
_PARTS = re.compile(
    r"(?:(?P<lane>\d+(?:-\d+)?)弄(?:(?P<sublane>\d+)支弄)?)?"
    r"(?:(?P<number>\d+(?:-\d+)?)号(?P<suffix>[甲乙丙丁])?)?"
    r"(?:(?P<building>\d+|[A-Z])幢)?"
    r"(?:(?P<unit>\d+)单元)?"
    r"(?:(?P<room>\d+(?:-\d+)?)(?P<mark>室|房|$))?"
)
# 曲阳路383 / 兰溪路99弄12-301: bare digits after a road or lane are the house number (and room)
_BARE = re.compile(r"(?P<road>.*?[路街道巷])(?P<number>\d+)(?:-(?P<room>\d+))?$")
_FIRST_NUMBER = re.compile(r"\d+(?:-\d+)?(?:支弄|弄|号|幢|单元|室)")


class Parsed(NamedTuple):
    """An address taken apart. ``detail`` is leftover text after the numbers (工地生活区),
    used only to tell apart standard addresses that share every component."""

    normalized: str
    district: str | None
    road: str | None
    lane: str | None
    number: str | None
    building: str | None
    unit: str | None
    room: str | None
    detail: str
    town: str = ""  # a leading street/town name (北蔡镇), kept to tell same-named villages apart

    def components(self) -> dict[str, str | None]:
        """The seven components as a dict (keys ``COMPONENT_KEYS``)."""
        return {
            "district": self.district,
            "road": self.road,
            "lane": self.lane,
            "number": self.number,
            "building": self.building,
            "unit": self.unit,
            "room": self.room,
        }


def chinese_number(text: str) -> int:
    """Value of a Chinese numeral in either style: 三百二十一 and 三二一 are both 321.

    Positional when it holds 十/百/千 (十二 = 12, 一百零五 = 105, 十 = 10), else read digit
    by digit (二零八 = 208)."""
    if not any(ch in _POWERS for ch in text):
        value = 0
        for ch in text:
            value = value * 10 + _DIGITS[ch]
        return value
    total, digit = 0, None
    for ch in text:
        if ch in _POWERS:
            total += (1 if digit is None else digit) * _POWERS[ch]
            digit = None
        else:
            digit = _DIGITS[ch]
    return total + (digit or 0)


def _numerals(match: re.Match[str]) -> str:
    return str(chinese_number(match.group(0)))


def clean(address: str) -> str:
    """Canonical characters: NFKC, upper case, no remarks, spaces or punctuation, Arabic
    numbers before units, 幢 for every building synonym."""
    text = unicodedata.normalize("NFKC", address).translate(_TRANSLATE).upper()
    # the `in` tests skip regexes that cannot match (most addresses are nearly clean)
    if "(" in text or "[" in text or "【" in text or "{" in text or "<" in text or "《" in text:
        text = _PARENS.sub("", text)
    text = _JUNK.sub("", text)
    if "-" in text:
        text = _LOOSE_DASH.sub("", _DASHES.sub("-", text))
    text = _CN_NUMBER.sub(_numerals, text)
    if "幢" in text or "栋" in text or "座" in text or "号楼" in text:
        text = _BUILDING.sub(r"\1幢", text)
    return text


def strip_prefix(text: str) -> tuple[str, str | None, str]:
    """Text without a leading city, district and street/town name; the district and the
    street/town named."""
    district, town = None, ""
    for _ in range(4):
        before = text
        if text.startswith(("上海", "中国")):
            text = _CITY.sub("", text)
        found = _DISTRICT.match(text) if ("区" in text[:5] or "县" in text[:4]) else None
        if found:
            district = found.group(1)
            text = text[found.end() :]
        street = _STREET.match(text) if ("街道" in text or "镇" in text or "新区" in text) else None
        if street and _NAME_START.match(text, street.end()):  # keep it if nothing named follows
            town = street.group(0)
            text = text[street.end() :]
        if text == before:
            break
    return text, district, town


def strip_trailing(text: str) -> str:
    """Text without trailing descriptions (门口, 对面, 附近, 小区南门…)."""
    while text.endswith(TRAILING):
        text = text[: -next(len(t) for t in TRAILING if text.endswith(t))]
    return text


def parse(address: str) -> Parsed:
    """Normalise ``address`` and split it into components (None where absent)."""
    text, district, town = strip_prefix(clean(address))
    text = strip_trailing(text)
    first = _FIRST_NUMBER.search(text)
    if first is None:
        bare = _BARE.fullmatch(text)
        if bare is not None:
            road, number, room = bare["road"], bare["number"], bare["room"]
            normalized = render(road, None, number, None, None, room)
            return Parsed(normalized, district, road, None, number, None, None, room, "", town)
        road = strip_trailing(text) or None
        return Parsed(road or "", district, road, None, None, None, None, None, "", town)
    road = strip_trailing(text[: first.start()]) or None
    rest = text[first.start() :]
    parts = _PARTS.match(rest)
    assert parts is not None  # every group is optional
    number = parts["number"]
    if number is not None and parts["suffix"]:
        number += parts["suffix"]
    detail = rest[parts.end() :]
    if parts["sublane"]:
        detail = f"{parts['sublane']}支弄{detail}"
    room = parts["room"]
    unmarked = room is not None and not parts["mark"]
    if unmarked and number is None and parts["building"] is None and parts["unit"] is None:
        number, _, rest = (room or "").partition("-")  # 99弄12 is 99弄12号; 12-301: 301室
        room = rest or None
    values = (parts["lane"], number, parts["building"], parts["unit"], room)
    normalized = render(road, *values)
    return Parsed(normalized, district, road, *values, detail, town)


def render(
    road: str | None,
    lane: str | None,
    number: str | None,
    building: str | None,
    unit: str | None,
    room: str | None,
) -> str:
    """The canonical text of components: 兰溪路99弄12号3幢2单元301室."""
    out = [road or ""]
    for value, unit_name in ((lane, "弄"), (number, "号"), (building, "幢"), (unit, "单元")):
        if value is not None:
            out.append(value + unit_name)
    if room is not None:
        out.append(room + "室")
    return "".join(out)


def normalize(address: str) -> tuple[str, dict[str, str | None]]:
    """Normalised text and components (district, road, lane, number, building, unit, room)."""
    parsed = parse(address)
    return parsed.normalized, parsed.components()
