"""An incident as a caller sends it (HTTP, CLI replay, Open311), validated field by field.

Every problem raises :class:`~gis.errors.InvalidInput` naming the field; a batch catches it
per item so the other items are still taken in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gis.crs import parse_crs
from gis.errors import InvalidInput
from gis.store.models import INCIDENT_SOURCES

MAX_TEXT = 4000
MAX_ATTACHMENTS = 20
MIN_YEAR = 1970
_SKEW = timedelta(minutes=5)  # callers' clocks drift; a few minutes ahead is not the future


@dataclass
class IncidentIn:
    """A validated incident before location and assignment (times aware, lon/lat in crs)."""

    category: str
    source: str
    reported_at: datetime
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    accuracy_m: float | None = None
    address: str | None = None
    district: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    attachments: list[str] = field(default_factory=list)
    external_id: str | None = None


def _text(value: Any, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput("is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput("must be a string", field=name)
    text: str = value.strip()
    if "\x00" in text:
        raise InvalidInput("contains a NUL character", field=name)
    if required and not text:
        raise InvalidInput("must not be empty", field=name)
    if len(text) > limit:
        raise InvalidInput(f"longer than {limit} characters", field=name)
    return text


def _float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput("must be a number", field=name)
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a number", field=name) from None
    if not math.isfinite(number):
        raise InvalidInput("must be a finite number", field=name)
    return number


def parse_time(
    value: Any, name: str = "reported_at", *, default: datetime | None = None
) -> datetime:
    """An ISO 8601 time (a naive one is taken as UTC); ``default`` when absent."""
    if value is None or value == "":
        if default is None:
            raise InvalidInput("is required", field=name)
        return default
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{value!r} is not an ISO 8601 time", field=name) from None
    else:
        raise InvalidInput("must be an ISO 8601 time string", field=name)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed.year < MIN_YEAR:
        raise InvalidInput(f"before {MIN_YEAR}: not a report wangge can hold", field=name)
    return parsed


def clean_text(value: str, name: str, *, limit: int = MAX_TEXT) -> str:
    """A free-text field (actor, note): no NUL characters, bounded length."""
    return _text(value, name, limit=limit) or ""


def parse_incident(data: Any, *, now: datetime, categories: set[str]) -> IncidentIn:
    """Validate one incident body (``dict``); location is ``lon``/``lat`` or ``address``."""
    if not isinstance(data, dict):
        raise InvalidInput("must be a JSON object", field="item")
    category = _text(data.get("category"), "category", required=True)
    assert category is not None
    if category not in categories:
        shown = ", ".join(sorted(categories)) or "none imported"
        raise InvalidInput(f"unknown category {category!r}; known: {shown}", field="category")
    source = data.get("source", "other")
    if source not in INCIDENT_SOURCES:
        raise InvalidInput(f"must be one of {', '.join(INCIDENT_SOURCES)}", field="source")
    lon, lat = _float(data.get("lon"), "lon"), _float(data.get("lat"), "lat")
    if (lon is None) != (lat is None):
        raise InvalidInput(
            "give both lon and lat, or neither", field="lat" if lat is None else "lon"
        )
    address = _text(data.get("address"), "address", limit=500)
    if lon is None and address is None:
        raise InvalidInput("give lon/lat or an address", field="location")
    crs = data.get("crs") or "wgs84"
    if not isinstance(crs, str):
        raise InvalidInput("must be a string such as wgs84, gcj02, bd09 or EPSG:4490", field="crs")
    crs = parse_crs(crs).name
    accuracy = _float(data.get("accuracy_m"), "accuracy_m")
    if accuracy is not None and accuracy <= 0:
        raise InvalidInput("must be a positive number of metres", field="accuracy_m")
    reporter = data.get("reporter") or {}
    if not isinstance(reporter, dict):
        raise InvalidInput("must be an object with name and phone", field="reporter")
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise InvalidInput("must be a list of URLs", field="attachments")
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments", field="attachments")
    for url in attachments:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"{url[:60]!r} is not an http(s) URL", field="attachments")
    external_id = data.get("external_id")
    if external_id is not None and not isinstance(external_id, str):
        external_id = str(external_id) if isinstance(external_id, int) else None
        if external_id is None:
            raise InvalidInput("must be a string", field="external_id")
    reported_at = parse_time(data.get("reported_at"), default=now)
    if reported_at > now.replace(microsecond=0) + _SKEW:
        raise InvalidInput("is in the future", field="reported_at")
    return IncidentIn(
        category=category,
        source=source,
        reported_at=reported_at,
        description=_text(data.get("description"), "description") or "",
        lon=lon,
        lat=lat,
        crs=crs,
        accuracy_m=accuracy,
        address=address,
        district=_text(data.get("district"), "district", limit=100),
        reporter_name=_text(reporter.get("name"), "reporter.name", limit=100),
        reporter_phone=_text(reporter.get("phone"), "reporter.phone", limit=40),
        attachments=attachments,
        external_id=_text(external_id, "external_id", limit=200),
    )
