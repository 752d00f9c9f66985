"""Response models of the heatmap (documentation of the GeoJSON it answers)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class HexProperties(BaseModel):
    """One H3 cell's figures."""

    cell: str = Field(description="H3 index (hexadecimal).")
    count: int = Field(description="Incidents in the cell.")
    households: int | None = Field(
        default=None, description="Households in buildings whose centroid is in the cell."
    )
    rate: float | None = Field(
        default=None, description="Incidents per 1,000 households (null: no households)."
    )
    gi_z: float = Field(description="Getis-Ord Gi* z-score over the cell's 1-ring.")
    hotspot: bool = Field(description="gi_z above the critical value of the confidence level.")


class HexFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, WGS-84 lon/lat.")
    properties: HexProperties


class Hotspots(BaseModel):
    method: str
    confidence: int = Field(description="Two-sided confidence level in percent.")
    z_critical: float
    rule: str


class Heatmap(BaseModel):
    """H3 hexagons with incident counts, rates and Gi* hotspot flags."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "FeatureCollection",
                "res": 9,
                "generation": 1,
                "normalize": None,
                "total": 3,
                "hotspots": {
                    "method": "Getis-Ord Gi* over H3 1-rings (binary weights, cell included)",
                    "confidence": 95,
                    "z_critical": 1.96,
                    "rule": "hotspot when Gi* z > 1.96 (95 %, two-sided)",
                },
                "features": [
                    {
                        "type": "Feature",
                        "id": "8930995b3a3ffff",
                        "geometry": {"type": "Polygon", "coordinates": [[[121.4, 31.25]]]},
                        "properties": {
                            "cell": "8930995b3a3ffff",
                            "count": 3,
                            "gi_z": 2.4,
                            "hotspot": True,
                        },
                    }
                ],
            }
        }
    )

    type: Literal["FeatureCollection"] = "FeatureCollection"
    res: int
    generation: int
    normalize: str | None
    total: int = Field(description="Incidents counted.")
    note: str | None = Field(default=None, description="Why nothing could be counted.")
    hotspots: Hotspots
    features: list[HexFeature]


class RootLinks(BaseModel):
    """Where things are: the map pages, the OGC API – Features and the API documentation."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "wangge",
                "maps": "/maps/",
                "ogc": "/ogc/",
                "docs": "/docs",
                "openapi": "/openapi.json",
            }
        }
    )

    name: str
    maps: str = Field(description="Index of the map pages.")
    ogc: str = Field(description="OGC API – Features landing page (QGIS, GDAL).")
    docs: str = Field(description="Interactive OpenAPI documentation.")
    openapi: str = Field(description="The OpenAPI document.")
