"""Point → owning area, against the boundaries stored in PostGIS.

:class:`Assigner` keeps one in-memory :class:`~gis.assign.engine.AreaIndex` per
(generation, level, data version), built from PostGIS on first use and kept in a small LRU
cache. Indexes
are immutable and replaced by reference, so a request sees a whole old index or a whole new
one. Each process polls the ``generations`` table (at most every ``check_seconds``) to notice
an activation by itself; several API workers therefore stay in step without coordination.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Engine, func, select

from gis.access import EVERYWHERE, Scope
from gis.areas.generations import resolve_generation
from gis.assign.engine import AreaIndex
from gis.crs import parse_crs, points_to_wgs84
from gis.errors import InvalidInput, NotFound, Unavailable
from gis.levels import LEVELS, check_level
from gis.store.db import database_errors
from gis.store.models import AREAS, DATA_VERSIONS, GENERATIONS, STAFF

DEFAULT_LEVEL = "micro_grid"
CACHE_SIZE = 8
#: Largest fix accuracy accepted, in metres (a city block is ~200 m; 10 km is no fix).
MAX_ACCURACY_M = 10_000.0
#: Largest nearest-area search distance, in metres.
MAX_DISTANCE_M = 1_000_000.0


@dataclass(frozen=True)
class AreaRef:
    """An area as named in answers."""

    code: str
    name: str | None
    level: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level}


@dataclass(frozen=True)
class LevelIndex:
    """The index of one level of one generation, with each area's ancestor chain."""

    generation: int
    level: str
    index: AreaIndex
    refs: tuple[AreaRef, ...]  # by index position (code order)
    chains: tuple[tuple[AreaRef, ...], ...]  # ancestors largest first, the area last
    note: str | None = None
    # JSON-ready forms shared by every answer (built once; never mutated)
    ref_json: tuple[dict[str, Any], ...] = ()
    chain_json: tuple[list[dict[str, Any]], ...] = ()

    @classmethod
    def create(
        cls,
        generation: int,
        level: str,
        index: AreaIndex,
        refs: tuple[AreaRef, ...],
        chains: tuple[tuple[AreaRef, ...], ...],
        note: str | None,
    ) -> LevelIndex:
        ref_json = tuple(r.as_dict() for r in refs)
        chain_json = tuple([r.as_dict() for r in chain] for chain in chains)
        return cls(generation, level, index, refs, chains, note, ref_json, chain_json)


@dataclass(frozen=True)
class _Poll:
    """What the last poll of the database saw (``reachable`` False: the last try failed and
    these are the figures of the poll before)."""

    generation: int | None
    open_generation: int | None
    areas_version: int
    staff_version: int
    checked_at: float
    reachable: bool = True


@dataclass(frozen=True)
class _StaffCache:
    version: int
    by_area: dict[str, list[dict[str, Any]]]
    loaded_at: datetime | None = None


IndexKey = tuple[int, str, int]


@dataclass
class Assigner:
    """Builds, caches and refreshes assignment indexes for one process.

    The cache is keyed by (generation, level, data version): a current or retired
    generation never changes, so its version is 0; the open generation (being imported into)
    is keyed by the ``areas`` data version, so an answer never comes from an index built
    before a later import. Every read and write of the cache holds ``_lock``.

    When the database goes away, answers keep coming from the indexes already built and the
    staff roster last loaded (``roster_stale``); anything that needs the database raises
    :class:`~gis.errors.Unavailable`. The next successful poll recovers by itself.
    """

    engine: Engine
    check_seconds: float = 2.0
    _cache: OrderedDict[IndexKey, LevelIndex] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _build_locks: dict[IndexKey, threading.Lock] = field(default_factory=dict)
    _poll: _Poll | None = None
    _staff: _StaffCache = field(default_factory=lambda: _StaffCache(-2, {}))

    # -- what changed -----------------------------------------------------------------------

    def _polled(self) -> _Poll:
        """Current and open generation and the data versions, re-read at most every
        check_seconds (one small query); so each worker notices activations, imports and
        roster changes by itself. With the database away, the last poll (marked
        unreachable) while there is one, else :class:`Unavailable`."""
        now = time.monotonic()
        poll = self._poll
        if poll is None or now - poll.checked_at >= self.check_seconds:
            try:
                with database_errors(), self.engine.connect() as conn:
                    row = conn.execute(_POLL_QUERY).one()
            except Unavailable:
                if poll is None:
                    raise
                poll = replace(poll, checked_at=now, reachable=False)
            else:
                poll = _Poll(row[0], row[1], int(row[2] or 0), int(row[3] or 0), now)
            self._poll = poll
        return poll

    @property
    def database_reachable(self) -> bool:
        """Whether the last poll reached the database."""
        return self._poll is None or self._poll.reachable

    def answers_from_memory(
        self, *, generation: int | None = None, as_of: Any = None, level: str | None = None
    ) -> bool:
        """Whether :func:`assign_point` can answer now without the database: the last poll
        is fresh, the index it needs is built and the roster is loaded. The API then answers
        in the event loop, without the thread hand-off (issue 28); otherwise in a thread."""
        poll = self._poll
        if as_of is not None or poll is None or not poll.reachable:
            return False
        if time.monotonic() - poll.checked_at >= self.check_seconds:
            return False
        if self._staff.version != poll.staff_version:
            return False
        number = poll.generation if generation is None else generation
        if number is None:
            return False
        version = poll.areas_version if number == poll.open_generation else 0
        return (number, level or "", version) in self._cache  # a dict read: atomic

    def current_generation(self) -> int:
        """The current generation (as of the last poll)."""
        generation = self._polled().generation
        if generation is None:
            raise NotFound(
                "no boundary generation is active yet; import boundaries with --activate",
                field="generation",
            )
        return generation

    def resolve(self, *, generation: int | None = None, as_of: Any = None) -> int:
        """Explicit generation, the one current at ``as_of``, or the current one."""
        if generation is None and as_of is None:
            return self.current_generation()
        if as_of is None:
            with self._lock:
                indexed = any(key[0] == generation for key in self._cache)
            if indexed:
                return int(generation)  # type: ignore[arg-type]  # known to exist: it is indexed
        with database_errors(), self.engine.connect() as conn:
            return resolve_generation(conn, generation=generation, as_of=as_of)

    def staff(self, code: str) -> list[dict[str, Any]]:
        """Staff attached to area ``code``, from a per-process copy of the roster that is
        reloaded when the roster's data version changes."""
        version = self._polled().staff_version
        cache = self._staff
        if cache.version != version:
            with self._lock:
                cache = self._staff
                if cache.version != version:
                    with database_errors():
                        cache = _StaffCache(version, _load_staff(self.engine), _now())
                    self._staff = cache
        return cache.by_area.get(code, [])

    def roster_note(self) -> str | None:
        """Why the staff in an answer may be out of date (None when they are not)."""
        if self.database_reachable:
            return None
        loaded = self._staff.loaded_at
        when = loaded.isoformat(timespec="seconds") if loaded else "start-up"
        return f"the database is unreachable: staff are from the roster loaded at {when}"

    # -- indexes ----------------------------------------------------------------------------

    def index(self, *, generation: int, level: str | None = None) -> LevelIndex:
        """The index for ``level`` (default micro_grid, else the deepest level present)."""
        if level is not None:
            check_level(level)
        poll = self._polled()
        version = poll.areas_version if generation == poll.open_generation else 0
        key = (generation, level or "", version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            build_lock = self._build_locks.setdefault(key, threading.Lock())
        with build_lock:  # one build per key, concurrent requests wait for it
            with self._lock:
                cached = self._cache.get(key)
            if cached is None:
                with database_errors():
                    cached = self._build(generation, level)
                with self._lock:
                    self._cache[key] = cached
                    # the default level and its own name share one index, not two copies
                    alias = _alias(key, cached)
                    if alias is not None:
                        self._cache.setdefault(alias, cached)
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
                    self._build_locks.pop(key, None)
        return cached

    def cached_keys(self) -> list[IndexKey]:
        """The (generation, level, version) keys of the indexes held, oldest use first."""
        with self._lock:
            return list(self._cache)

    def warm(self) -> None:
        """Build the current generation's default index now (e.g. at start-up)."""
        self.index(generation=self.current_generation())

    def _build(self, generation: int, level: str | None) -> LevelIndex:
        with self.engine.connect() as conn:
            levels = set(
                conn.execute(
                    select(AREAS.c.level).distinct().where(AREAS.c.valid.contains(generation))
                ).scalars()
            )
            note = None
            if level is None:
                if DEFAULT_LEVEL in levels:
                    level = DEFAULT_LEVEL
                elif levels:
                    level = max(levels, key=LEVELS.index)
                    note = (
                        f"generation {generation} has no micro_grid areas; answered at "
                        f"the deepest level present, {level}"
                    )
                else:
                    raise NotFound(f"generation {generation} has no areas", field="generation")
            elif level not in levels:
                raise NotFound(
                    f"generation {generation} has no {level} areas; levels present: "
                    f"{', '.join(sorted(levels, key=LEVELS.index)) or 'none'}",
                    field="level",
                )
            everything = {
                r.code: r
                for r in conn.execute(
                    select(AREAS.c.code, AREAS.c.name, AREAS.c.level, AREAS.c.parent_code).where(
                        AREAS.c.valid.contains(generation)
                    )
                )
            }
            rows = conn.execute(
                select(
                    AREAS.c.code, AREAS.c.name, func.ST_AsBinary(AREAS.c.geom).label("wkb")
                ).where(AREAS.c.level == level, AREAS.c.valid.contains(generation))
            ).all()
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
        index = AreaIndex.build([r.code for r in rows], list(geoms), [r.name or "" for r in rows])
        refs = tuple(AreaRef(c, everything[c].name, level) for c in index.codes)
        chains = tuple(_chain(code, everything) for code in index.codes)
        return LevelIndex.create(generation, level, index, refs, chains, note)


_POLL_QUERY = select(
    select(GENERATIONS.c.id).where(GENERATIONS.c.state == "current").scalar_subquery(),
    select(GENERATIONS.c.id).where(GENERATIONS.c.state == "open").scalar_subquery(),
    select(DATA_VERSIONS.c.version).where(DATA_VERSIONS.c.name == "areas").scalar_subquery(),
    select(DATA_VERSIONS.c.version).where(DATA_VERSIONS.c.name == "staff").scalar_subquery(),
)


def _alias(key: IndexKey, built: LevelIndex) -> IndexKey | None:
    """The other cache key that names the same index: a default-level index is also its
    level's (unless it fell back to a deeper level, and says so in its note), and the
    micro_grid index is also the default one."""
    generation, level, version = key
    if level == "" and built.note is None:
        return (generation, built.level, version)
    if level == DEFAULT_LEVEL:
        return (generation, "", version)
    return None


def _now() -> datetime:
    return datetime.now(UTC)


def _chain(code: str, everything: dict[str, Any]) -> tuple[AreaRef, ...]:
    chain: list[AreaRef] = []
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current in everything and current not in seen:
        seen.add(current)
        row = everything[current]
        chain.append(AreaRef(row.code, row.name, row.level))
        current = row.parent_code
    return tuple(reversed(chain))


# -- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """Lookups for many points as plain lists (fast to walk from Python): owner index or -1,
    CSR of covering areas, and for uncovered points the nearest area (-1) and its distance."""

    owner: list[int]
    indptr: list[int]
    indices: list[int]
    nearest: list[int]
    distance_m: list[float]


def locate(
    level_index: LevelIndex,
    *,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    errors: list[str | None],
    max_distance_m: float | None = None,
) -> Located:
    """Owner, coverers and nearest area for every WGS-84 point whose ``errors`` entry is None
    (see :func:`gis.crs.points_to_wgs84`); points with an error get nothing."""
    ok = np.array([e is None for e in errors], dtype=bool)
    x = np.where(ok, lon, np.nan)
    y = np.where(ok, lat, np.nan)
    index = level_index.index
    lookup = index.lookup(lon=x, lat=y)
    nearest = np.full(len(x), -1, np.int32)
    distance = np.full(len(x), np.nan)
    uncovered = np.flatnonzero(ok & (lookup.owner < 0))
    if uncovered.size:
        nearest[uncovered], distance[uncovered] = index.nearest(
            lon=x[uncovered], lat=y[uncovered], max_distance_m=max_distance_m
        )
    return Located(
        lookup.owner.tolist(),
        lookup.indptr.tolist(),
        lookup.indices.tolist(),
        nearest.tolist(),
        distance.tolist(),
    )


def positions_within(level_index: LevelIndex, scope: Scope) -> frozenset[int]:
    """Index positions of the areas in ``scope`` (its rule for areas, on their chains)."""
    return frozenset(
        j for j, chain in enumerate(level_index.chains) if scope.holds_chain(r.code for r in chain)
    )


def limit_to_scope(level_index: LevelIndex, found: Located, scope: Scope) -> Located:
    """``found`` as seen by a caller with ``scope``: areas outside it are as if they did not
    exist (not owner, not also-covering, not nearest)."""
    if scope.area is None:
        return found
    allowed = positions_within(level_index, scope)
    owner: list[int] = []
    indptr = [0]
    indices: list[int] = []
    nearest: list[int] = []
    for i in range(len(found.owner)):
        kept = [j for j in found.indices[found.indptr[i] : found.indptr[i + 1]] if j in allowed]
        indices.extend(kept)
        indptr.append(len(indices))
        owner.append(kept[0] if kept else -1)
        nearest.append(found.nearest[i] if found.nearest[i] in allowed else -1)
    return Located(owner, indptr, indices, nearest, found.distance_m)


def answer(level_index: LevelIndex, found: Located, i: int) -> dict[str, Any]:
    """The JSON answer for point ``i`` (owner, chain, other coverers, nearest; no staff)."""
    refs = level_index.ref_json
    owner, start, end = found.owner[i], found.indptr[i], found.indptr[i + 1]
    result: dict[str, Any] = {
        "owner": refs[owner] if owner >= 0 else None,
        "chain": level_index.chain_json[owner] if owner >= 0 else [],
        "also_covered_by": [refs[j] for j in found.indices[start + 1 : end]]
        if end - start > 1
        else [],
        "nearest": None,
    }
    near = found.nearest[i]
    if owner < 0 and near >= 0:
        result["nearest"] = {**refs[near], "distance_m": round(found.distance_m[i], 2)}
    return result


def check_max_distance(max_distance_m: float | None) -> None:
    """Refuse a nearest-search distance outside 0..MAX_DISTANCE_M (or NaN)."""
    if max_distance_m is not None and not 0 <= max_distance_m <= MAX_DISTANCE_M:
        raise InvalidInput(
            f"must be a number of metres, 0 ≤ max_distance_m ≤ {MAX_DISTANCE_M:,.0f}",
            field="max_distance_m",
        )


def share_value(share: float) -> float:
    """A share (0..1) for answers: 4 decimals, but never a non-zero share shown as 0 (or a
    share below 1 shown as 1): those keep 3 significant digits of what separates them."""
    rounded = round(share, 4)
    if rounded == 0.0 and share > 0:
        return float(f"{share:.3g}")
    if rounded == 1.0 and share < 1:
        return 1.0 - float(f"{1.0 - share:.3g}")
    return rounded


def _load_staff(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every staff member attached to an area, grouped by area code, ordered by staff code."""
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(STAFF.c.code, STAFF.c.name, STAFF.c.role, STAFF.c.phone, STAFF.c.area_code)
            .where(STAFF.c.area_code.is_not(None))
            .order_by(STAFF.c.code)
        )
        for r in rows:
            out.setdefault(r.area_code, []).append(
                {"code": r.code, "name": r.name, "role": r.role, "phone": r.phone}
            )
    return out


def in_range(lon: float, lat: float) -> bool:
    """:func:`gis.crs.in_lon_lat_range` for one point."""
    return abs(lon) <= 180.0 and abs(lat) <= 90.0


def assign_point(
    assigner: Assigner,
    *,
    lon: float,
    lat: float,
    level: str | None = None,
    generation: int | None = None,
    as_of: Any = None,
    accuracy_m: float | None = None,
    max_distance_m: float | None = None,
    crs: str = "wgs84",
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """The full answer for one point given in ``crs`` (default WGS-84): owner, chain, others,
    nearest, ambiguity, staff; only areas in the caller's ``scope``."""
    spec = parse_crs(crs)
    if spec.is_wgs84 and math.isfinite(lon) and math.isfinite(lat) and in_range(lon, lat):
        # the usual point: what points_to_wgs84 would answer, without its array machinery
        x, y = np.array([lon], np.float64), np.array([lat], np.float64)
    else:
        x, y, reasons = points_to_wgs84(lon=[lon], lat=[lat], crs=spec)
        reason = reasons[0]
        if reason is not None:
            field_name, text = reason.split(": ", 1)
            raise InvalidInput(text, field=field_name)
    if accuracy_m is not None and not 0 < accuracy_m <= MAX_ACCURACY_M:
        raise InvalidInput(
            f"must be a number of metres, 0 < accuracy_m ≤ {MAX_ACCURACY_M:,.0f}",
            field="accuracy_m",
        )
    check_max_distance(max_distance_m)
    number = assigner.resolve(generation=generation, as_of=as_of)
    level_index = assigner.index(generation=number, level=level)
    found = locate(level_index, lon=x, lat=y, errors=[None], max_distance_m=max_distance_m)
    found = limit_to_scope(level_index, found, scope)
    result = answer(level_index, found, 0)
    result["ambiguous"] = False
    if accuracy_m is not None:
        shares = level_index.index.circle_shares(
            lon=float(x[0]), lat=float(y[0]), radius_m=accuracy_m
        )
        if scope.area is not None:
            allowed = positions_within(level_index, scope)
            shares = [(j, share) for j, share in shares if j in allowed]
        if len(shares) > 1:
            result["ambiguous"] = True
            result["candidates"] = [
                {**level_index.refs[j].as_dict(), "share": share_value(s)} for j, s in shares
            ]
    owner = result["owner"]
    result["staff"] = assigner.staff(owner["code"]) if owner else []
    stale = assigner.roster_note()
    result["roster_stale"] = stale is not None
    if stale is not None:
        result["roster_note"] = stale
    result["level"] = level_index.level
    result["generation"] = number
    if level_index.note:
        result["note"] = level_index.note
    return result
