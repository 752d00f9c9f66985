"""Response models of the OGC API – Features endpoints (``/ogc/…``), with examples.

Member names are camelCase where the OGC standard spells them so (``numberMatched``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Link

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_BASE = "http://127.0.0.1:8000/ogc"


class LandingPage(BaseModel):
    """The OGC API landing page: where the API description, conformance and data are."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "title": "wangge OGC API – Features",
                "description": "Grid hierarchy, buildings and facilities of the street.",
                "links": [
                    {"href": f"{_BASE}/", "rel": "self", "type": "application/json"},
                    {"href": f"{_BASE}/collections", "rel": "data", "type": "application/json"},
                ],
            }
        }
    )

    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes this API implements."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "conformsTo": ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"]
            }
        }
    )

    conformsTo: list[str]


class SpatialExtent(BaseModel):
    """Bounding boxes (west, south, east, north) in ``crs``."""

    bbox: list[list[float]]
    crs: str = CRS84


class TemporalExtent(BaseModel):
    """Time intervals (RFC 3339; null is open-ended)."""

    interval: list[list[str | None]]
    trs: str = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


class Extent(BaseModel):
    """Where and when the features of a collection lie."""

    spatial: SpatialExtent
    temporal: TemporalExtent | None = None


class CollectionInfo(BaseModel):
    """One collection: what it holds, its extent, its CRSs and links to its items."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "micro_grid",
                "title": "Micro-grids (微网格)",
                "itemType": "feature",
                "extent": {"spatial": {"bbox": [[121.38, 31.23, 121.43, 31.27]], "crs": CRS84}},
                "crs": [CRS84, "http://www.opengis.net/def/crs/EPSG/0/4490"],
                "storageCrs": CRS84,
                "links": [{"href": f"{_BASE}/collections/micro_grid/items", "rel": "items"}],
            }
        }
    )

    id: str
    title: str
    description: str | None = None
    itemType: str = "feature"
    extent: Extent | None = None
    crs: list[str] = Field(default_factory=list)
    storageCrs: str = CRS84
    links: list[Link]


class Collections(BaseModel):
    """Every collection served."""

    links: list[Link]
    collections: list[CollectionInfo]


class Feature(BaseModel):
    """A GeoJSON feature (RFC 7946); coordinates in the CRS named by ``Content-Crs``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "Feature",
                "id": "310107016007-G02-M02",
                "geometry": {"type": "MultiPolygon", "coordinates": []},
                "properties": {"code": "310107016007-G02-M02", "level": "micro_grid"},
            }
        },
    )

    type: str = "Feature"
    id: str | int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    """A page of features, with ``numberMatched``, ``numberReturned`` and a ``next`` link."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "FeatureCollection",
                "numberMatched": 306,
                "numberReturned": 1,
                "timeStamp": "2026-11-29T10:00:00Z",
                "features": [],
                "links": [
                    {"href": f"{_BASE}/collections/micro_grid/items?offset=100", "rel": "next"}
                ],
            }
        }
    )

    type: str = "FeatureCollection"
    features: list[Feature]
    numberMatched: int
    numberReturned: int
    timeStamp: str
    links: list[Link]


class Queryables(BaseModel):
    """A JSON Schema of the properties usable as ``name=value`` filters on the items."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "title": "Micro-grids (微网格)",
                "properties": {"parent_code": {"type": "string", "title": "Code of the parent"}},
                "additionalProperties": False,
            }
        },
    )

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: str = "object"
    title: str
    properties: dict[str, Any]
    additionalProperties: bool = False
