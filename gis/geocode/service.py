"""Geocoding answers with responsibility: the standard address and the micro-grid owning it.

Used by the HTTP API and the CLI. The owner comes from the assignment service
(:mod:`gis.assign.service`) at the current boundary generation; with no boundaries loaded the
``owner`` is null (geocoding still answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gis.access import EVERYWHERE, Scope
from gis.assign.service import (
    Assigner,
    LevelIndex,
    answer,
    assign_point,
    limit_to_scope,
    locate,
)
from gis.crs import parse_crs, points_to_wgs84
from gis.errors import InvalidInput, NotFound, PayloadTooLarge
from gis.geocode.cache import GazetteerCache
from gis.geocode.results import GeocodeResult
from gis.limits import GEOCODE_BATCH_MAX

BATCH_MAX = GEOCODE_BATCH_MAX  # the default of WANGGE_GEOCODE_BATCH_MAX
REVERSE_MAX = 20
ADDRESS_MAX_CHARS = 500


@dataclass(frozen=True)
class BatchItem:
    """One address of a batch, with the caller's id."""

    id: Any
    address: Any
    district: Any = None


def _current_index(assigner: Assigner | None) -> LevelIndex | None:
    """The current generation's default-level index, or None when no boundaries exist."""
    if assigner is None:
        return None
    try:
        return assigner.index(generation=assigner.current_generation())
    except NotFound:
        return None


def _owner(level_index: LevelIndex, found: Any, i: int) -> dict[str, Any] | None:
    result = answer(level_index, found, i)
    if result["owner"] is None:
        return None
    return {
        **result["owner"],
        "chain": result["chain"],
        "generation": level_index.generation,
    }


def check_address(address: Any, field: str = "address") -> str:
    """``address`` as text, or InvalidInput naming ``field``."""
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput("give the address as non-empty text", field=field)
    if len(address) > ADDRESS_MAX_CHARS:
        raise InvalidInput(f"longer than {ADDRESS_MAX_CHARS} characters", field=field)
    return address


def geocode_address(
    cache: GazetteerCache,
    assigner: Assigner | None,
    *,
    address: str,
    district: str | None,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """One address: the geocoding result as a dict plus ``owner`` (or null; only areas in
    the caller's ``scope`` count). The gazetteer itself is public (see
    :attr:`gis.access.Scope.gazetteer_is_public`): every key that may geocode matches any
    standard address."""
    result = cache.get().geocode(check_address(address), district=district)
    return _with_owners([result], assigner, scope)[0]


def _with_owners(
    results: list[GeocodeResult], assigner: Assigner | None, scope: Scope = EVERYWHERE
) -> list[dict[str, Any]]:
    out = [r.to_dict() for r in results]
    located = [i for i, r in enumerate(results) if r.lon is not None and r.lat is not None]
    level_index = _current_index(assigner) if located else None
    for item in out:
        item["owner"] = None
    if level_index is None:
        return out
    lon = np.array([results[i].lon for i in located], np.float64)
    lat = np.array([results[i].lat for i in located], np.float64)
    found = locate(level_index, lon=lon, lat=lat, errors=[None] * len(located))
    found = limit_to_scope(level_index, found, scope)
    for j, i in enumerate(located):
        out[i]["owner"] = _owner(level_index, found, j)
    return out


def parse_batch_items(
    body: Any, *, max_items: int = BATCH_MAX
) -> tuple[list[BatchItem], str | None]:
    """The items of ``{"addresses": [{"id", "address", "district"} | "text", …],
    "district": default}``; raises on a malformed envelope (items are checked one by one)
    and on more than ``max_items`` items."""
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object with an 'addresses' list", field="body")
    items = body.get("addresses")
    if not isinstance(items, list):
        raise InvalidInput("must be a list of addresses", field="addresses")
    if len(items) > max_items:
        raise PayloadTooLarge(
            f"{len(items)} addresses; at most {max_items} (WANGGE_GEOCODE_BATCH_MAX)",
            field="addresses",
            limit=max_items,
        )
    default = body.get("district")
    if default is not None and not isinstance(default, str):
        raise InvalidInput("must be text", field="district")
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append(BatchItem(item.get("id", i), item.get("address"), item.get("district")))
        else:
            out.append(BatchItem(i, item))
    return out, default


def geocode_batch(
    cache: GazetteerCache,
    assigner: Assigner | None,
    body: Any,
    scope: Scope = EVERYWHERE,
    *,
    max_items: int = BATCH_MAX,
) -> dict[str, Any]:
    """Every address of a batch, in input order; a bad item gets ``error`` (naming its field)
    and the others are answered (owners only in the caller's ``scope``); more than
    ``max_items`` is PayloadTooLarge."""
    items, default = parse_batch_items(body, max_items=max_items)
    gazetteer = cache.get()
    results: list[GeocodeResult] = []
    where: list[int] = []
    errors: dict[int, dict[str, str]] = {}
    for i, item in enumerate(items):
        district = item.district if item.district is not None else default
        try:
            text = check_address(item.address, f"addresses[{i}].address")
            if district is not None and not isinstance(district, str):
                raise InvalidInput("must be text", field=f"addresses[{i}].district")
        except InvalidInput as exc:
            errors[i] = {"field": exc.field or "", "reason": exc.reason}
            continue
        results.append(gazetteer.geocode(text, district=district))
        where.append(i)
    answered = _with_owners(results, assigner, scope)
    out: list[dict[str, Any]] = [{} for _ in items]
    for i, result in zip(where, answered, strict=True):
        out[i] = {"id": items[i].id, **result}
    for i, error in errors.items():
        out[i] = {"id": items[i].id, "error": error}
    return {
        "count": len(items),
        "matched": sum(1 for r in results if not r.needs_review),
        "needs_review": sum(1 for r in results if r.needs_review),
        "errors": len(errors),
        "results": out,
    }


def reverse_geocode(
    cache: GazetteerCache,
    assigner: Assigner | None,
    *,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    limit: int = 1,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """The standard addresses nearest a point (distance in metres; the gazetteer is public)
    and the areas owning it (only those in the caller's ``scope``)."""
    spec = parse_crs(crs)
    if not (1 <= limit <= REVERSE_MAX):
        raise InvalidInput(f"must be 1..{REVERSE_MAX}", field="limit")
    xs, ys, reasons = points_to_wgs84(lon=[lon], lat=[lat], crs=spec)
    if reasons[0] is not None:
        field_name, reason = reasons[0].split(": ", 1)
        raise InvalidInput(reason, field=field_name)
    x, y = float(xs[0]), float(ys[0])
    gazetteer = cache.get()
    nearest = [
        {**gazetteer.candidate(i, 1.0).to_dict(), "distance_m": round(d, 2)}
        for i, d in gazetteer.nearest(lon=x, lat=y, k=limit)
    ]
    for item in nearest:
        del item["score"]
    owner: dict[str, Any] | None = None
    if _current_index(assigner) is not None and assigner is not None:
        assigned = assign_point(assigner, lon=x, lat=y, scope=scope)
        owner = {
            "owner": assigned["owner"],
            "chain": assigned["chain"],
            "also_covered_by": assigned["also_covered_by"],
            "nearest": assigned["nearest"],
            "generation": assigned["generation"],
        }
    return {
        "input": {"lon": lon, "lat": lat, "crs": spec.name},
        "lon": x,
        "lat": y,
        "nearest": nearest[0] if nearest else None,
        "addresses": nearest,
        "areas": owner,
    }


def geocode_texts(
    cache: GazetteerCache,
    assigner: Assigner | None,
    addresses: Sequence[str],
    district: str | None,
) -> list[dict[str, Any]]:
    """Several addresses with one district (for the CLI)."""
    gazetteer = cache.get()
    return _with_owners([gazetteer.geocode(a, district=district) for a in addresses], assigner)
