"""``/v1/areas`` responses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Link
from api.schemas.common import AreaRef, Geometry, LevelName, StaffMember


class AreaProperties(BaseModel):
    code: str
    name: str | None
    level: LevelName
    parent_code: str | None
    area_m2: float = Field(description="Ellipsoidal area in square metres.")
    attributes: dict[str, Any] = Field(description="Every other column of the imported file.")


class AreaFeature(BaseModel):
    """One area as a GeoJSON Feature (``id`` is its code)."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: AreaProperties


class AreaCollection(BaseModel):
    """One page of areas, ordered by code."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "FeatureCollection",
                "generation": 1,
                "numberMatched": 41,
                "numberReturned": 1,
                "links": [
                    {
                        "rel": "next",
                        "type": "application/geo+json",
                        "href": "http://127.0.0.1:8000/v1/areas?level=grid&limit=1&offset=1",
                    }
                ],
                "features": [
                    {
                        "type": "Feature",
                        "id": "310107016001-G01",
                        "geometry": {"type": "MultiPolygon", "coordinates": []},
                        "properties": {
                            "code": "310107016001-G01",
                            "name": "第1网格",
                            "level": "grid",
                            "parent_code": "310107016001",
                            "area_m2": 152345.2,
                            "attributes": {},
                        },
                    }
                ],
            }
        }
    )

    type: Literal["FeatureCollection"]
    generation: int
    numberMatched: int
    numberReturned: int
    links: list[Link]
    features: list[AreaFeature]


class AreaDetailProperties(AreaProperties):
    chain: list[AreaRef] = Field(description="Ancestors, largest first, ending with the area.")
    child_count: int
    staff: list[StaffMember]
    generation: int


class AreaDetail(BaseModel):
    """One area with its ancestor chain, child count and staff."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: AreaDetailProperties
