"""Where an incident is and who answers for it: coordinates (any supported CRS) or a
geocoded address, then the owning area, its chain, generation and staff as a snapshot.

Everything is vectorised over a batch: one CRS conversion per CRS, one index lookup.
An address that cannot be resolved, or a point outside every area, is not an error: the
incident is placed ``needs_review`` with the reason, and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gis.assign.service import Assigner
from gis.crs import parse_crs, points_to_wgs84
from gis.errors import NotFound
from gis.geocode.cache import GazetteerCache
from gis.incidents.parse import IncidentIn

#: addresses, districts -> one geocode answer per address (``GeocodeResult.to_dict()`` shape)
Resolver = Callable[[list[str], list[str | None]], list[dict[str, Any]]]


@dataclass
class Placement:
    """Where one incident is (WGS-84) and its responsibility snapshot."""

    lon: float | None = None
    lat: float | None = None
    location_status: str = "needs_review"
    review_reason: str | None = None
    geocode: dict[str, Any] | None = None
    owner_code: str | None = None
    owner_name: str | None = None
    area_codes: list[str] = field(default_factory=list)
    chain: list[dict[str, Any]] = field(default_factory=list)
    generation: int | None = None
    staff: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The incident columns this placement decides (location status and who answers)."""
        return {
            "owner_code": self.owner_code,
            "owner_name": self.owner_name,
            "area_codes": self.area_codes,
            "chain": self.chain,
            "generation": self.generation,
            "staff": self.staff,
            "location_status": self.location_status,
            "review_reason": self.review_reason,
        }


def no_geocoder(addresses: list[str], districts: list[str | None]) -> list[dict[str, Any]]:
    """Used when no gazetteer is available: every address goes to the review queue."""
    return [
        {"match_level": "none", "lon": None, "lat": None, "needs_review": True, "candidates": []}
        for _ in addresses
    ]


def gazetteer_resolver(cache: GazetteerCache) -> Resolver:
    """Addresses resolved by the standard-address gazetteer of ``cache`` (per process,
    rebuilt when the addresses change); a district that is given scopes the match."""

    def resolve(addresses: list[str], districts: list[str | None]) -> list[dict[str, Any]]:
        results = cache.get().geocode_many(addresses, districts=districts)
        return [r.to_dict() for r in results]

    return resolve


def _geocode(items: Sequence[IncidentIn], resolver: Resolver, places: list[Placement]) -> None:
    wanted = [i for i, item in enumerate(items) if item.lon is None and item.address]
    if not wanted:
        return
    answers = resolver(
        [items[i].address or "" for i in wanted], [items[i].district for i in wanted]
    )
    for i, answer in zip(wanted, answers, strict=True):
        place = places[i]
        place.geocode = {
            k: answer.get(k)
            for k in (
                "normalized",
                "match_level",
                "standard_address",
                "score",
                "needs_review",
                "candidates",
            )
            if k in answer
        }
        if answer.get("lon") is None or answer.get("needs_review"):
            place.review_reason = (
                f"address not resolved (match level {answer.get('match_level', 'none')})"
            )
        else:
            place.lon, place.lat = float(answer["lon"]), float(answer["lat"])


def _coordinates(items: Sequence[IncidentIn], places: list[Placement]) -> None:
    by_crs: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        if item.lon is not None:
            by_crs.setdefault(item.crs, []).append(i)
    for crs, idx in by_crs.items():
        x, y, reasons = points_to_wgs84(
            lon=np.array([items[i].lon for i in idx], np.float64),
            lat=np.array([items[i].lat for i in idx], np.float64),
            crs=parse_crs(crs),
        )
        for k, reason in enumerate(reasons):
            place = places[idx[k]]
            if reason is None:
                place.lon, place.lat = float(x[k]), float(y[k])
            else:
                place.review_reason = f"coordinates unusable ({reason})"


def place_many(
    assigner: Assigner,
    items: Sequence[IncidentIn],
    resolver: Resolver = no_geocoder,
    *,
    generation: int | None = None,
) -> list[Placement]:
    """A placement per item, in order: located (coordinates or address) and assigned."""
    places = [Placement() for _ in items]
    _coordinates(items, places)
    _geocode(items, resolver, places)
    assign_places(assigner, places, generation=generation)
    return places


def assign_places(
    assigner: Assigner, places: list[Placement], *, generation: int | None = None
) -> None:
    """Fill the snapshot of every located placement (in place); points outside every area
    and a database without active boundaries leave the placement for review."""
    located = [i for i, p in enumerate(places) if p.lon is not None]
    if not located:
        return
    try:
        number = assigner.resolve(generation=generation)
        level_index = assigner.index(generation=number)
    except NotFound as exc:
        for i in located:
            places[i].location_status = "needs_review"
            places[i].review_reason = f"cannot assign: {exc.reason}"
        return
    x = np.array([places[i].lon for i in located], np.float64)
    y = np.array([places[i].lat for i in located], np.float64)
    # the owner is all a snapshot needs: the index's lookup alone (locate() would also search
    # the nearest area for every point outside them all, a projection per call)
    owners = level_index.index.lookup(lon=x, lat=y).owner.tolist()
    refs, chains = level_index.refs, level_index.chain_json
    for k, i in enumerate(located):
        place = places[i]
        place.generation = number
        owner = owners[k]
        if owner < 0:
            place.location_status = "needs_review"
            place.review_reason = f"outside every {level_index.level}"
            place.owner_code = place.owner_name = None
            place.area_codes, place.chain, place.staff = [], [], []
            continue
        place.location_status = "ok"
        place.review_reason = None
        ref = refs[owner]
        place.owner_code, place.owner_name = ref.code, ref.name
        place.chain = chains[owner]
        place.area_codes = [c["code"] for c in chains[owner]]
        place.staff = assigner.staff(ref.code)
