"""What a geocoding answer looks like: :class:`GeocodeResult` and its :class:`Candidate` s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MATCH_LEVELS = ("room", "building", "number", "lane", "road", "none")


@dataclass(frozen=True)
class Candidate:
    """A standard address the input may mean (WGS-84 point)."""

    standard_address: str
    lon: float
    lat: float
    score: float
    match_level: str
    code: str = ""
    district: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "standard_address": self.standard_address,
            "code": self.code,
            "district": self.district,
            "lon": self.lon,
            "lat": self.lat,
            "score": self.score,
            "match_level": self.match_level,
        }


@dataclass(frozen=True)
class GeocodeResult:
    """The answer for one address.

    ``lon``/``lat`` (WGS-84) are set only when a standard address (or a whole lane of them)
    was found; ``needs_review`` is true whenever a person should check: a number absent from
    the matched road, several roads or places that fit, an unknown district. ``score`` is
    0..1 (1: every component matched a standard address exactly)."""

    input: str
    normalized: str
    components: dict[str, str | None]
    match_level: str
    standard_address: str | None
    lon: float | None
    lat: float | None
    score: float
    needs_review: bool
    candidates: list[Candidate] = field(default_factory=list)
    code: str | None = None  # the standard address's code in the gazetteer
    district: str | None = None  # the standard address's district
    road_match: str | None = None  # exact, suffix, homophone, near_homophone, typo
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (candidates as dicts)."""
        return {
            "input": self.input,
            "normalized": self.normalized,
            "components": dict(self.components),
            "match_level": self.match_level,
            "standard_address": self.standard_address,
            "code": self.code,
            "district": self.district,
            "lon": self.lon,
            "lat": self.lat,
            "score": self.score,
            "needs_review": self.needs_review,
            "road_match": self.road_match,
            "note": self.note,
            "candidates": [c.to_dict() for c in self.candidates],
        }
