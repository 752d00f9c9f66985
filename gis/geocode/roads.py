"""Fuzzy road names: which gazetteer roads a misspelt road name may mean.

Only the road name is ever matched loosely; lane and house numbers never are. The ladder, most
certain first (the first rung that finds something wins):

1. the name itself;
2. a missing or extra road suffix (曹杨 → 曹杨路);
3. the same toneless pinyin (曹扬路 → 曹杨路, a homophone);
4. the same pinyin after merging sounds often confused in Shanghai (zh/z, ch/c, sh/s, n/l,
   h/f, -ng/-n): a near-homophone;
5. one character replaced by anything (a plain typo), for names of three characters or more.

Pinyin is looked up per character from a cache, so only the few thousand distinct road names
are ever converted in bulk; a query pays for its own few characters only when rungs 1–2 fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin

SUFFIXES = ("路", "街", "公路", "大道", "支路", "小区")

# score of each rung (how sure a fuzzy road is, before the numbers are checked)
EXACT, SUFFIX, HOMOPHONE, NEAR_HOMOPHONE, TYPO = 1.0, 0.95, 0.9, 0.85, 0.75
HOW = {
    EXACT: "exact",
    SUFFIX: "suffix",
    HOMOPHONE: "homophone",
    NEAR_HOMOPHONE: "near_homophone",
    TYPO: "typo",
}

_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("h", "f"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy_syllable(syllable: str) -> str:
    for long, short in _INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@dataclass
class PinyinCache:
    """Toneless pinyin per character, computed once per character."""

    plain: dict[str, str] = field(default_factory=dict)
    fuzzy: dict[str, str] = field(default_factory=dict)

    def _learn(self, chars: Iterable[str]) -> None:
        new = sorted({c for c in chars if c not in self.plain})
        if not new:
            return
        for ch, syllable in zip(new, lazy_pinyin(new, style=Style.NORMAL), strict=True):
            self.plain[ch] = syllable
            self.fuzzy[ch] = _fuzzy_syllable(syllable)

    def key(self, name: str) -> str:
        """Toneless pinyin of ``name``, syllables joined by spaces."""
        self._learn(name)
        return " ".join([self.plain[c] for c in name])

    def fuzzy_key(self, name: str) -> str:
        """Pinyin with easily confused sounds merged (near-homophones share it)."""
        self._learn(name)
        return " ".join([self.fuzzy[c] for c in name])


def _variants(name: str) -> list[str]:
    """The name with a road suffix added, or its suffix removed."""
    out = [name + s for s in SUFFIXES if not name.endswith(s)]
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s) + 1:
            out.append(name[: -len(s)])
    return out


def _typo_keys(name: str) -> list[str]:
    return [name[:i] + "?" + name[i + 1 :] for i in range(len(name))] if len(name) >= 3 else []


@dataclass
class RoadNames:
    """Every distinct road name of a gazetteer, indexed for the fuzzy ladder."""

    names: frozenset[str]
    pinyin: PinyinCache
    by_pinyin: dict[str, list[str]]
    by_fuzzy: dict[str, list[str]]
    by_typo: dict[str, list[str]]

    @classmethod
    def build(cls, names: Iterable[str], pinyin: PinyinCache | None = None) -> RoadNames:
        """Index ``names`` (a few thousand distinct road names); ``pinyin`` may be shared."""
        unique = sorted(set(names))
        cache = pinyin or PinyinCache()
        cache._learn("".join(unique))
        by_pinyin: dict[str, list[str]] = {}
        by_fuzzy: dict[str, list[str]] = {}
        by_typo: dict[str, list[str]] = {}
        for name in unique:
            by_pinyin.setdefault(cache.key(name), []).append(name)
            by_fuzzy.setdefault(cache.fuzzy_key(name), []).append(name)
            for key in _typo_keys(name):
                by_typo.setdefault(key, []).append(name)
        return cls(frozenset(unique), cache, by_pinyin, by_fuzzy, by_typo)

    def rungs(self, name: str) -> Iterator[tuple[float, list[str]]]:
        """Each rung that finds something, most certain first: its score and the gazetteer
        road names it finds (sorted)."""
        if name in self.names:
            yield EXACT, [name]
        variants = _variants(name)
        found = sorted(v for v in variants if v in self.names)
        if found:
            yield SUFFIX, found
        spellings = [name, *variants]
        seen = {name, *found}
        for score, index, key_of in (
            (HOMOPHONE, self.by_pinyin, self.pinyin.key),
            (NEAR_HOMOPHONE, self.by_fuzzy, self.pinyin.fuzzy_key),
        ):
            hits = {road for s in spellings for road in index.get(key_of(s), ())} - seen
            if hits:
                seen |= hits
                yield score, sorted(hits)
        typos = {road for s in spellings for k in _typo_keys(s) for road in self.by_typo.get(k, ())}
        if typos - seen:
            yield TYPO, sorted(typos - seen)

    def resolve(self, name: str) -> tuple[float, list[str]]:
        """The most certain rung: its score and road names; (0, []) when nothing is close."""
        return next(self.rungs(name), (0.0, []))
