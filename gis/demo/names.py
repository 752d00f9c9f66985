"""Name lists for the demo street: roads, communities, compounds, people, facilities.

Everything here is plain data plus a few deterministic helpers driven by a numpy Generator.
The place names are modelled on Zhenru Town Street (真如镇街道, Putuo District, Shanghai);
the roads, compounds and people are fictional even where a name sounds familiar.
"""

from __future__ import annotations

from typing import Final

import numpy as np

STREET_CODE: Final = "310107016"
STREET_NAME: Final = "真如镇街道"

#: Residential-area (居民区) names, in the order the communities are coded (north-west first).
COMMUNITY_NAMES: Final[tuple[str, ...]] = (
    "真北居民区",
    "杏山居民区",
    "星光居民区",
    "铜川居民区",
    "真光居民区",
    "清涧居民区",
    "梅川居民区",
    "杨家桥居民区",
    "真华居民区",
    "兰溪居民区",
    "真如西村居民区",
    "金鼎居民区",
    "桃浦居民区",
    "真南居民区",
    "大渡河居民区",
    "武威居民区",
)

#: Two-character stems for residential compounds (小区) and kindergartens.
COMPOUND_STEMS: Final[tuple[str, ...]] = (
    "真如",
    "铜川",
    "兰溪",
    "梅川",
    "杏山",
    "星光",
    "清涧",
    "金鼎",
    "锦绣",
    "华光",
    "春晖",
    "嘉和",
    "瑞康",
    "和平",
    "幸福",
    "新华",
    "光明",
    "景秀",
    "丽都",
    "祥和",
    "绿洲",
    "曹杨",
    "桃浦",
    "武威",
    "真光",
    "真华",
    "宝华",
    "怡景",
    "馨苑",
    "安居",
)

COMPOUND_SUFFIXES: Final[tuple[str, ...]] = (
    "新村",
    "小区",
    "一村",
    "二村",
    "三村",
    "苑",
    "花园",
    "公寓",
    "坊",
    "家园",
)

#: Kinds of non-residential building (商务楼, 社区用房…), used in building names.
NON_RESIDENTIAL_KINDS: Final[tuple[str, ...]] = (
    "综合楼",
    "商务楼",
    "商铺",
    "社区用房",
    "办公楼",
    "厂房",
    "仓库",
)

#: Common surnames, the first ones (frequent in Shanghai) listed several times as weights.
SURNAMES: Final[tuple[str, ...]] = (
    *("张", "王", "李", "陈", "徐", "沈", "朱", "顾", "陆", "周") * 3,
    *("吴", "黄", "杨", "刘", "钱", "孙", "胡", "金", "施", "蒋") * 2,
    "赵",
    "马",
    "郭",
    "何",
    "高",
    "林",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
    "彭",
    "曾",
    "肖",
    "田",
    "董",
    "袁",
    "潘",
    "于",
    "蔡",
    "余",
    "杜",
    "叶",
    "程",
    "苏",
    "魏",
    "吕",
    "丁",
    "任",
    "姚",
    "卢",
    "姜",
    "崔",
    "钟",
    "谭",
    "汪",
    "范",
    "石",
    "夏",
    "方",
    "邹",
    "孟",
    "秦",
    "江",
    "薛",
    "严",
    "倪",
    "汤",
    "邵",
    "龚",
    "毛",
    "戴",
    "俞",
    "殷",
)

#: Characters for given names (one or two of them).
GIVEN_CHARS: Final[str] = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文国荣"
    "志新海林春梅凤云飞宇浩晨亮丹颖婷雪琳佳欣怡晓慧倩雯嘉俊宏斌鹏辉"
    "德福民根宝龙金凤琴珍妹忠良振耀彩月"
)

#: Mobile prefixes for fictional phone numbers.
PHONE_PREFIXES: Final[tuple[str, ...]] = ("139", "138", "137", "136", "135", "150", "158", "186")


def person_name(rng: np.random.Generator) -> str:
    """A Chinese personal name: a surname and one or two given-name characters."""
    surname = SURNAMES[int(rng.integers(len(SURNAMES)))]
    n_given = 1 if rng.random() < 0.3 else 2
    given = "".join(GIVEN_CHARS[int(rng.integers(len(GIVEN_CHARS)))] for _ in range(n_given))
    return surname + given


def unique_person_name(rng: np.random.Generator, taken: set[str]) -> str:
    """A person name not yet in ``taken`` (added to it); deterministic for a given rng."""
    while True:
        name = person_name(rng)
        if name not in taken:
            taken.add(name)
            return name


def unique_phone(rng: np.random.Generator, taken: set[str]) -> str:
    """A fictional 11-digit mobile number not yet in ``taken`` (added to it)."""
    while True:
        prefix = PHONE_PREFIXES[int(rng.integers(len(PHONE_PREFIXES)))]
        phone = prefix + "".join(str(int(d)) for d in rng.integers(0, 10, size=8))
        if phone not in taken:
            taken.add(phone)
            return phone


def compound_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct residential-compound names (e.g. 铜川新村, 星光苑) in random order."""
    combos = [stem + suffix for stem in COMPOUND_STEMS for suffix in COMPOUND_SUFFIXES]
    order = rng.permutation(len(combos))
    return [combos[int(i)] for i in order[:count]]
