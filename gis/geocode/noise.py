"""Messy variants of standard addresses, as residents and call-takers write them.

For tests, benchmarks and demo data: deterministic for a seed. Each kind changes one thing
(:data:`KINDS`); ``mixed`` combines several. The numbers keep their value (only their writing
changes), so a correct geocoder must find the very same standard address.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

KINDS = ("numerals", "widths", "prefixes", "spacing", "trailing", "typo", "mixed")
TRAILING = ("门口", "对面", "附近", "小区南门", "旁边", "楼下", "北门")
_CN = "零一二三四五六七八九"
_UNITS_NUM = re.compile(r"(\d+)(?=支弄|弄|号)")
_ROAD_SUFFIX = ("公路", "大道", "支路", "路", "街")


def positional(n: int) -> str:
    """三百二十一 style (n < 10000)."""
    if n == 0:
        return "零"
    out, zero = [], False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                out.append("零")
            out.append(("" if (value == 10 and not out) and digit == 1 else _CN[digit]) + name)
            zero = False
        elif out:
            zero = True
    return "".join(out)


def digitwise(n: int) -> str:
    """三二一 style."""
    return "".join(_CN[int(d)] for d in str(n))


class Noiser:
    """Makes messy variants; knows homophones of the characters of the given road names."""

    def __init__(self, roads: Iterable[str], seed: int = 13) -> None:
        self.rng = random.Random(seed)
        chars = sorted({c for road in roads for c in road if "\u4e00" <= c <= "\u9fff"})
        self.homophones: dict[str, list[str]] = {}
        by_sound: dict[str, list[str]] = {}
        for ch, sound in zip(chars, lazy_pinyin(chars, style=Style.NORMAL), strict=True):
            by_sound.setdefault(sound, []).append(ch)
        for group in by_sound.values():
            for ch in group:
                others = [o for o in group if o != ch]
                if others:
                    self.homophones[ch] = others

    def numerals(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            n = int(m.group(1))
            if m.group(1).startswith("0") or n >= 10000:
                return m.group(1)
            return positional(n) if self.rng.random() < 0.5 else digitwise(n)

        return _UNITS_NUM.sub(repl, text)

    def widths(self, text: str) -> str:
        wide = "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)
        cut = self.rng.randrange(1, max(2, len(wide)))
        return wide[:cut] + "\u3000" + wide[cut:]

    def prefixes(self, text: str, district: str | None, town: str | None) -> str:
        head = "上海市" if self.rng.random() < 0.8 else "上海"
        return head + (district or "") + (town or "") + text

    def spacing(self, text: str) -> str:
        """Two stray spaces or punctuation marks (a dash never next to a digit: 12-14号 is a
        range, not noise)."""
        chars = list(text)
        for _ in range(2):
            at = self.rng.randrange(1, len(chars) + 1)
            near_digit = chars[at - 1].isdigit() or (at < len(chars) and chars[at].isdigit())
            chars.insert(at, self.rng.choice(" ,，、 " if near_digit else " ,，、- "))
        return "".join(chars)

    def trailing(self, text: str) -> str:
        return text + self.rng.choice(TRAILING)

    def typo(self, text: str, road: str | None) -> str:
        """One road character replaced by a homophone, or the road suffix dropped."""
        if not road or not text.startswith(road):
            return text
        suffix = next((s for s in _ROAD_SUFFIX if road.endswith(s)), "")
        stem = road[: len(road) - len(suffix)]
        spots = [i for i, c in enumerate(stem) if c in self.homophones]
        if suffix == "路" and len(stem) >= 2 and (not spots or self.rng.random() < 0.25):
            return stem + text[len(road) :]
        if not spots:
            return text
        i = self.rng.choice(spots)
        changed = stem[:i] + self.rng.choice(self.homophones[stem[i]]) + stem[i + 1 :]
        return changed + suffix + text[len(road) :]

    def variant(
        self,
        text: str,
        kind: str,
        *,
        road: str | None = None,
        district: str | None = None,
        town: str | None = None,
    ) -> str:
        """``text`` made messy in the way ``kind`` names."""
        if kind == "numerals":
            return self.numerals(text)
        if kind == "widths":
            return self.widths(text)
        if kind == "prefixes":
            return self.prefixes(text, district, town)
        if kind == "spacing":
            return self.spacing(text)
        if kind == "trailing":
            return self.trailing(text)
        if kind == "typo":
            return self.typo(text, road)
        messy = self.typo(text, road) if self.rng.random() < 0.3 else text
        messy = self.numerals(messy)
        messy = self.prefixes(messy, district, town) if self.rng.random() < 0.5 else messy
        return self.widths(self.trailing(messy))
