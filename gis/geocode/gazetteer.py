"""The in-memory matcher: messy address → standard address, numbers exact, roads fuzzy.

A :class:`Gazetteer` indexes every standard address by road name (a dict per road, and one
per district and road), keyed by the tuple (lane, number, building, unit, room). A query is
normalised, its road resolved by the fuzzy ladder of :mod:`gis.geocode.roads`, then its
numbers looked up exactly on each road found:

* the whole key is a standard address → that address (confident);
* the gazetteer knows nothing deeper than a prefix of the key (e.g. only lanes, and the query
  names a house in the lane) → the prefix's address (confident, a coarser level);
* the query names a whole lane whose houses are listed → the lane's centre (confident when
  its houses lie within ``LANE_SPREAD_M``);
* a number that the road (or lane) does not have → ``needs_review`` with candidates, never the
  nearest number;
* several roads or places that fit → ``needs_review`` with them as candidates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from gis.geocode.normalize import Parsed, parse, render
from gis.geocode.results import Candidate, GeocodeResult
from gis.geocode.roads import EXACT, HOW, PinyinCache, RoadNames

Key = tuple[str | None, str | None, str | None, str | None, str | None]
LEVELS = ("lane", "number", "building", "building", "room")  # the level of each key slot
_EMPTY: Key = (None, None, None, None, None)
LANE_SPREAD_M = 300.0  # a lane whose houses spread further is not one place
SAME_PLACE_M = 100.0  # standard addresses with one key this close are one place
MAX_CANDIDATES = 5
TRUNCATED, LANE_CENTRE = 0.95, 0.9  # score factors for coarser answers
REVIEW = 0.5  # score factor of an answer that needs review


@dataclass(frozen=True)
class Record:
    """One standard address to index (WGS-84 point)."""

    code: str
    address: str
    lon: float
    lat: float
    district: str | None = None


def _level(key: Key) -> str:
    deepest = max((i for i, v in enumerate(key) if v is not None), default=-1)
    return LEVELS[deepest] if deepest >= 0 else "road"


def _parent(key: Key) -> Key | None:
    """``key`` without its deepest value (None for the empty key)."""
    for i in range(4, -1, -1):
        if key[i] is not None:
            out = list(key)
            out[i] = None
            return (out[0], out[1], out[2], out[3], out[4])
    return None


@dataclass
class Road:
    """Standard addresses on one road (in one district, or in all)."""

    exact: dict[Key, list[int]] = field(default_factory=dict)
    below: dict[Key, list[int]] = field(default_factory=dict)  # prefix → deeper addresses

    def add(self, key: Key, i: int) -> None:
        self.exact.setdefault(key, []).append(i)
        parent = _parent(key)
        while parent is not None:
            self.below.setdefault(parent, []).append(i)
            parent = _parent(parent)


@dataclass(slots=True)
class _Hit:
    """What one road gives for a query key."""

    road: str
    entries: list[int]
    key: Key  # the key of the answer (a prefix of the query's for coarser answers)
    confident: bool
    factor: float
    centre: bool = False
    why: str = ""  # why it is not confident


def _number(value: str | None) -> float:
    if value is None:
        return math.inf
    digits = "".join(ch if ch.isdigit() else " " for ch in value).split()
    return float(digits[0]) if digits else math.inf


class Gazetteer:
    """Standard addresses indexed for geocoding; immutable once built (share freely)."""

    def __init__(self, records: Sequence[Record], pinyin: PinyinCache | None = None) -> None:
        self.size = len(records)
        self.codes = [r.code for r in records]
        self.addresses = [r.address for r in records]
        self.lon: NDArray[np.float64] = np.array([r.lon for r in records], np.float64)
        self.lat: NDArray[np.float64] = np.array([r.lat for r in records], np.float64)
        self.lons = self.lon.tolist()
        self.lats = self.lat.tolist()
        self.parsed = [parse(r.address) for r in records]
        self.districts = [
            r.district or p.district for r, p in zip(records, self.parsed, strict=True)
        ]
        self.roads: dict[str, Road] = {}
        self.scoped: dict[tuple[str, str], Road] = {}
        # an address without a district belongs to every district's scope
        known = sorted({d for d in self.districts if d is not None})
        self.has_districts = bool(known)
        for i, p in enumerate(self.parsed):
            if p.road is None:
                continue
            key = (p.lane, p.number, p.building, p.unit, p.room)
            self.roads.setdefault(p.road, Road()).add(key, i)
            district = self.districts[i]
            for d in [district] if district is not None else known:
                self.scoped.setdefault((d, p.road), Road()).add(key, i)
        self.names = RoadNames.build(self.roads, pinyin)
        by_district: dict[str, set[str]] = {}
        for district, road in self.scoped:
            by_district.setdefault(district, set()).add(road)
        self.district_names = {
            d: RoadNames.build(names, self.names.pinyin) for d, names in by_district.items()
        }
        self.district_aliases = _district_aliases(by_district)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> Gazetteer:
        """Index ``records`` (each address is parsed here, the same way as queries)."""
        return cls(list(records))

    @classmethod
    def load(cls, conn: Connection) -> Gazetteer:
        """Build from the ``addresses`` table (addresses re-parsed with today's rules)."""
        from gis.geocode.store import read_records

        return cls(read_records(conn))

    # -- answers ----------------------------------------------------------------------------

    def geocode(self, address: str, *, district: str | None = None) -> GeocodeResult:
        """The standard address ``address`` means, optionally only within ``district``
        (全名 or short: 普陀区 / 普陀). Never raises for odd text: it answers ``none``."""
        parsed = parse(address)
        scope, note = self._scope(district, parsed.district)
        if scope is None and note is not None:
            plain = self._match(address, parsed, None)
            return _with_review(plain, note)
        return self._match(address, parsed, scope, note)

    def geocode_many(
        self, addresses: Sequence[str], *, districts: Sequence[str | None] | None = None
    ) -> list[GeocodeResult]:
        """:meth:`geocode` for each address (with its district), in input order."""
        if districts is None:
            return [self.geocode(a) for a in addresses]
        if len(districts) != len(addresses):
            from gis.errors import InvalidInput

            raise InvalidInput(
                f"{len(districts)} districts for {len(addresses)} addresses", field="districts"
            )
        return [self.geocode(a, district=d) for a, d in zip(addresses, districts, strict=True)]

    def nearest(self, *, lon: float, lat: float, k: int = 1) -> list[tuple[int, float]]:
        """The ``k`` standard addresses nearest a WGS-84 point: (index, distance in metres),
        nearest first (distances on the WGS-84 ellipsoid)."""
        if self.size == 0:
            return []
        scale = math.cos(math.radians(lat))
        d2 = ((self.lon - lon) * scale) ** 2 + (self.lat - lat) ** 2
        k = min(k, self.size)
        order = np.argpartition(d2, k - 1)[:k] if k < self.size else np.arange(self.size)
        from pyproj import Geod

        geod = Geod(ellps="WGS84")
        picked = [int(i) for i in order]
        _, _, dist = geod.inv(
            [lon] * len(picked), [lat] * len(picked), self.lon[picked], self.lat[picked]
        )
        pairs = sorted(
            zip(picked, (float(d) for d in np.atleast_1d(dist)), strict=True),
            key=lambda p: (p[1], p[0]),
        )
        return pairs

    def candidate(self, i: int, score: float, level: str | None = None) -> Candidate:
        """Standard address ``i`` as a candidate."""
        p = self.parsed[i]
        key = (p.lane, p.number, p.building, p.unit, p.room)
        return Candidate(
            standard_address=self.addresses[i],
            lon=self.lons[i],
            lat=self.lats[i],
            score=round(score, 3),
            match_level=level or _level(key),
            code=self.codes[i],
            district=self.districts[i],
        )

    # -- internals --------------------------------------------------------------------------

    def _scope(self, given: str | None, in_text: str | None) -> tuple[str | None, str | None]:
        """The district to search in (None: everywhere) and a note when it is unknown."""
        name = given.strip().removeprefix("上海市").removeprefix("上海") if given else None
        if not self.has_districts:  # a gazetteer without districts cannot be scoped
            return None, None
        if not name:
            return (self.district_aliases.get(in_text) if in_text else None), None
        found = self.district_aliases.get(name)
        if found is None:
            return None, f"district {name!r} has no standard addresses; searched everywhere"
        return found, None

    def _match(
        self, text: str, parsed: Parsed, scope: str | None, note: str | None = None
    ) -> GeocodeResult:
        base: dict[str, Any] = {
            "input": text,
            "normalized": parsed.normalized,
            "components": parsed.components(),
        }
        if parsed.road is None:
            return _nothing(base, note or "no road or place name found")
        names = self.names if scope is None else self.district_names.get(scope, self.names)
        key: Key = (parsed.lane, parsed.number, parsed.building, parsed.unit, parsed.room)
        if parsed.road in names.names:  # fast path: the road and the whole key as written
            entries = self._road(parsed.road, scope).exact.get(key)
            if entries is not None and len(entries) == 1:
                hit = _Hit(parsed.road, entries, key, True, 1.0)
                return self._answer(base, hit, EXACT, "exact", note)
        first: tuple[float, list[_Hit]] | None = None  # the most certain roads found
        bare: tuple[float, _Hit] | None = None  # a place without the query's numbers
        for road_score, roads in names.rungs(parsed.road):
            hits = [self._lookup(r, self._road(r, scope), key, parsed, text) for r in roads]
            sure = _best(hits)
            if key != _EMPTY and len(sure) == 1 and sure[0].key == _EMPTY:
                # 陆家浜804弄: the place 陆家浜 knows no lanes; answer it only if no less
                # certain road (陆家浜路) has 804弄
                if first is None:
                    sure[0].why = f"{sure[0].road} has no {render(None, *key)}"
                    bare, first = (road_score, sure[0]), (road_score, hits)
                continue
            if len(sure) == 1 and first is None:
                return self._answer(base, sure[0], road_score, HOW[road_score], note)
            if len(sure) > 1:
                reason = "several roads fit: " + ", ".join(h.road for h in sure)
                return self._review(base, road_score, sure, key, note or reason)
            if sure:  # a less certain road has the number the more certain one lacks
                score, missed = first or (road_score, [])
                found = self._answer(base, sure[0], road_score, HOW[road_score], None)
                top = Candidate(
                    standard_address=found.standard_address or "",
                    lon=found.lon or 0.0,
                    lat=found.lat or 0.0,
                    score=round(found.score * REVIEW, 3),
                    match_level=found.match_level,
                    code=found.code or "",
                    district=found.district,
                )
                reason = "; ".join(h.why for h in missed) + f"; {sure[0].road} has it"
                return self._review(base, score, missed, key, note or reason, top)
            if first is None:
                first = (road_score, hits)
        if bare is not None:
            return self._answer(base, bare[1], bare[0], HOW[bare[0]], note)
        if first is None:
            where = f" in {scope}" if scope else ""
            return _nothing(base, note or f"no road like {parsed.road!r}{where}")
        road_score, hits = first
        return self._review(base, road_score, hits, key, note or "; ".join(h.why for h in hits))

    def _review(
        self,
        base: dict[str, Any],
        road_score: float,
        hits: list[_Hit],
        key: Key,
        reason: str,
        top: Candidate | None = None,
    ) -> GeocodeResult:
        """An answer without a point: the matched part and candidates for a person."""
        candidates = self._candidates(hits, key, road_score)
        if top is not None:
            candidates = [top, *[c for c in candidates if c.code != top.code]][:MAX_CANDIDATES]
        one = len({h.road for h in hits}) == 1
        best = hits[0]
        return GeocodeResult(
            **base,
            match_level=_level(best.key) if one else "road",
            standard_address=render(best.road, *best.key) if one else None,
            lon=None,
            lat=None,
            score=round(road_score * REVIEW, 3),
            needs_review=True,
            candidates=candidates,
            road_match=HOW[road_score],
            note=reason,
        )

    def _road(self, road: str, scope: str | None) -> Road:
        if scope is None:
            return self.roads[road]
        return self.scoped.get((scope, road)) or Road()

    def _lookup(self, name: str, road: Road, key: Key, parsed: Parsed, text: str) -> _Hit:
        """What ``road`` has for ``key``: a standard address, a lane centre or a miss."""
        tries = [key]
        if key[2] is not None and key[1] is None:  # 12幢 written for 12号
            tries.append((key[0], key[2], None, key[3], key[4]))
        for k in tries:
            if k in road.exact:
                return self._found(name, road.exact[k], k, parsed, text, 1.0)
        if key != (None,) * 5 and key in road.below:
            inside = road.below[key]
            spread = self._spread_m(inside)
            return _Hit(
                name,
                inside,
                key,
                spread <= LANE_SPREAD_M,
                LANE_CENTRE,
                centre=True,
                why=f"the houses of {render(name, *key)} spread over {spread:.0f} m",
            )
        for k in tries:  # the gazetteer may know nothing deeper than a prefix
            prefix = _parent(k)
            while prefix is not None:
                if prefix in road.exact and prefix not in road.below:
                    return self._found(name, road.exact[prefix], prefix, parsed, text, TRUNCATED)
                if prefix in road.below or prefix in road.exact:
                    break
                prefix = _parent(prefix)
        prefix = _parent(key)
        while prefix is not None:
            if prefix in road.below or prefix in road.exact:
                return _Hit(
                    name,
                    road.below.get(prefix, []) + road.exact.get(prefix, []),
                    prefix,
                    False,
                    REVIEW,
                    why=f"{render(None, *key)} is not on {render(name, *prefix)}",
                )
            prefix = _parent(prefix)
        if key == (None,) * 5 and key in road.below:
            return _Hit(
                name,
                road.below[key],
                key,
                False,
                REVIEW,
                why=f"{name} alone is no single place: give a lane or house number",
            )
        return _Hit(name, [], (None,) * 5, False, REVIEW, why=f"no standard address on {name}")

    def _found(
        self, name: str, entries: list[int], key: Key, query: Parsed, text: str, factor: float
    ) -> _Hit:
        """A hit on the standard addresses sharing ``key``: one place, or a review."""
        if len(entries) > 1:  # several with this key: the same remark, then the same town
            entries = [i for i in entries if self.parsed[i].detail == query.detail] or entries
        if len(entries) > 1:
            entries = [i for i in entries if self.parsed[i].town == query.town] or entries
        if len(entries) > 1:
            exact = [i for i in entries if self.addresses[i] == text]
            if len(exact) == 1:
                entries = exact
            elif self._spread_m(entries) > SAME_PLACE_M:
                return _Hit(
                    name,
                    entries,
                    key,
                    False,
                    REVIEW,
                    why=f"{len(entries)} standard addresses {render(name, *key)} far apart",
                )
        return _Hit(name, entries[:1], key, True, factor)

    def _spread_m(self, entries: list[int]) -> float:
        """Largest distance (m, approximate) of the entries from their mean."""
        if len(entries) < 2:
            return 0.0
        x, y = self.lon[entries], self.lat[entries]
        scale = math.cos(math.radians(float(y.mean())))
        dx = (x - x.mean()) * scale * 111_320.0
        dy = (y - y.mean()) * 110_574.0
        return float(np.sqrt(dx * dx + dy * dy).max())

    def _answer(
        self, base: dict[str, Any], hit: _Hit, road_score: float, how: str, note: str | None
    ) -> GeocodeResult:
        score = round(road_score * hit.factor, 3)
        if hit.centre:
            lon = float(self.lon[hit.entries].mean())
            lat = float(self.lat[hit.entries].mean())
            first = hit.entries[0]
            return GeocodeResult(
                **base,
                match_level=_level(hit.key),
                standard_address=render(hit.road, *hit.key),
                lon=lon,
                lat=lat,
                score=score,
                needs_review=False,
                district=self.districts[first],
                road_match=how,
                note=note,
            )
        i = hit.entries[0]
        return GeocodeResult(
            **base,
            match_level=_level(hit.key),
            standard_address=self.addresses[i],
            lon=self.lons[i],
            lat=self.lats[i],
            score=score,
            needs_review=False,
            code=self.codes[i],
            district=self.districts[i],
            road_match=how,
            note=note,
        )

    def _candidates(self, hits: list[_Hit], key: Key, road_score: float) -> list[Candidate]:
        """Up to MAX_CANDIDATES addresses of the hits, most like ``key`` first."""
        pool = {i for h in hits for i in h.entries}

        def likeness(i: int) -> tuple[int, float, str]:
            p = self.parsed[i]
            theirs = (p.lane, p.number, p.building, p.unit, p.room)
            same = sum(1 for a, b in zip(key, theirs, strict=True) if a is not None and a == b)
            gap = next(
                (
                    abs(_number(a) - _number(b))
                    for a, b in zip(key, theirs, strict=True)
                    if a is not None and a != b
                ),
                math.inf,
            )
            return (-same, gap, self.codes[i])

        ranked = sorted(pool, key=likeness)[:MAX_CANDIDATES]
        return [self.candidate(i, road_score * REVIEW) for i in ranked]


def _nothing(base: dict[str, Any], note: str) -> GeocodeResult:
    """An answer that found no road or place."""
    return GeocodeResult(
        **base,
        match_level="none",
        standard_address=None,
        lon=None,
        lat=None,
        score=0.0,
        needs_review=True,
        note=note,
    )


def _best(hits: list[_Hit]) -> list[_Hit]:
    """The confident hits that matched the most components (a house beats a bare place)."""
    sure = [h for h in hits if h.confident]
    if len(sure) < 2:
        return sure
    depth = [sum(v is not None for v in h.key) for h in sure]
    return [h for h, d in zip(sure, depth, strict=True) if d == max(depth)]


def _with_review(result: GeocodeResult, note: str) -> GeocodeResult:
    from dataclasses import replace

    return replace(result, needs_review=True, note=note)


def _district_aliases(by_district: dict[str, set[str]]) -> dict[str, str]:
    """Full and short district names (普陀区, 普陀) → the gazetteer's name."""
    out: dict[str, str] = {}
    for name in by_district:
        out[name] = name
        for suffix in ("新区", "区", "县"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                out.setdefault(name[: -len(suffix)], name)
                break
    return out
