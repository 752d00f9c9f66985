"""GPX 1.0/1.1 tracks (``<trk><trkseg><trkpt lat lon><ele/><time/></trkpt>``) as fixes.

Parsed incrementally with defusedxml: no DTD, no entities, no network, so an entity bomb or an
external entity is refused, and a file with more points than allowed is refused as soon as the
limit is passed, without reading the rest. Bad input is refused whole, naming the field
(``gpx``, ``gpx.trkpt[i].lat``, ``gpx.trkpt[i].time``…); nothing is half-read.
"""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from gis.errors import InvalidInput
from gis.patrols.fixes import Fixes, as_epoch, check_count


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _number(value: str | None, field: str, low: float, high: float) -> float:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        raise InvalidInput(f"not a number: {value!r}", field=field) from None
    if value is None:
        raise InvalidInput("missing", field=field)
    if not (low <= number <= high):
        raise InvalidInput(f"{number} is outside {low:g}..{high:g}", field=field)
    return number


def _time(value: str | None, field: str) -> float:
    if not value or not value.strip():
        raise InvalidInput(
            "every track point needs a <time> (ISO 8601, UTC) to be a patrol", field=field
        )
    try:
        return as_epoch(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time: {value.strip()[:40]!r}", field=field) from None


def parse_gpx(source: bytes | IO[bytes], *, max_fixes: int) -> Fixes:
    """The track points of every ``<trk>/<trkseg>`` in ``source``, in file order.

    Raises InvalidInput naming ``gpx`` (not XML, not GPX, no track points, DTD or entities)
    or ``gpx.trkpt[i].lat|lon|time|ele``; PayloadTooLarge naming ``gpx.trkpt`` beyond
    ``max_fixes`` points. Waypoints and routes are ignored; ``<hdop>`` is not an accuracy.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    t: list[float] = []
    lon: list[float] = []
    lat: list[float] = []
    ele: list[float] = []
    root_seen = False
    i = 0
    try:
        for event, element in iterparse(
            stream, events=("start", "end"), forbid_dtd=True, forbid_entities=True
        ):
            name = _local(element.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name != "gpx":
                        raise InvalidInput(
                            f"the document's root element is <{name}>, not <gpx>", field="gpx"
                        )
                continue
            if name != "trkpt":
                if name in ("trkseg", "trk", "wpt", "rte"):
                    element.clear()
                continue
            field = f"gpx.trkpt[{i}]"
            lat.append(_number(element.get("lat"), f"{field}.lat", -90.0, 90.0))
            lon.append(_number(element.get("lon"), f"{field}.lon", -180.0, 180.0))
            when: str | None = None
            height = math.nan
            for child in element:
                child_name = _local(child.tag)
                if child_name == "time":
                    when = child.text
                elif child_name == "ele" and child.text and child.text.strip():
                    height = _number(child.text, f"{field}.ele", -1000.0, 10000.0)
            t.append(_time(when, f"{field}.time"))
            ele.append(height)
            element.clear()
            i += 1
            check_count(i, max_fixes, "gpx.trkpt")
    except ParseError as exc:
        raise InvalidInput(f"not well-formed XML: {exc}", field="gpx") from None
    except DefusedXmlException as exc:
        raise InvalidInput(
            f"DTDs and entities are not accepted in GPX: {type(exc).__name__}", field="gpx"
        ) from None
    if not root_seen:
        raise InvalidInput("the body is empty, not GPX", field="gpx")
    if not t:
        raise InvalidInput("no <trkpt> in any <trk>/<trkseg>", field="gpx.trk")
    arr: Any = np.asarray
    return Fixes(
        arr(t, dtype=float),
        arr(lon, dtype=float),
        arr(lat, dtype=float),
        np.full(len(t), np.nan),
        arr(ele, dtype=float),
    )
