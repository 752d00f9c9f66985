"""``/v1/assign`` requests and responses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import AreaRef, LevelName, StaffMember
from gis.assign.service import MAX_DISTANCE_M
from gis.crs import DOCUMENTED_CRS

CRS_DESCRIPTION = (
    "Coordinates of the input: `wgs84` (default), `gcj02` (Chinese phone and web maps), "
    "`bd09` (Baidu) or `EPSG:<code>` (geographic or projected, x/y order). Output is WGS-84."
)


class Nearest(AreaRef):
    distance_m: float = Field(description="True distance in metres (local metric CRS).")


class Candidate(AreaRef):
    share: float = Field(ge=0, le=1, description="Share of the accuracy circle in the area.")


class AssignInput(BaseModel):
    lon: float
    lat: float
    crs: str


class AssignAnswer(BaseModel):
    """Owner of one point with its chain, staff and nearest area."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "owner": {
                    "code": "310107016007-G02-M02",
                    "name": "杨家桥路101弄9-16号",
                    "level": "micro_grid",
                },
                "chain": [{"code": "310107016", "name": "真如镇街道", "level": "street"}],
                "also_covered_by": [],
                "nearest": None,
                "ambiguous": False,
                "staff": [
                    {
                        "code": "S00427",
                        "name": "胡林俊",
                        "role": "micro_grid_leader",
                        "phone": "13996453141",
                    }
                ],
                "roster_stale": False,
                "level": "micro_grid",
                "generation": 1,
                "input": {"lon": 121.4015, "lat": 31.2489, "crs": "wgs84"},
            }
        }
    )

    owner: AreaRef | None
    chain: list[AreaRef]
    also_covered_by: list[AreaRef]
    nearest: Nearest | None
    ambiguous: bool
    candidates: list[Candidate] | None = None
    staff: list[StaffMember]
    roster_stale: bool = Field(
        description="True when the database is unreachable and staff come from the roster "
        "this worker loaded last (see roster_note)."
    )
    roster_note: str | None = None
    level: LevelName
    generation: int
    note: str | None = None
    input: AssignInput


# -- batch ------------------------------------------------------------------------------------

ITEM_VALUE = (
    "A number. Anything else (missing, text, NaN, out of range) is reported in this item's "
    "`error`; the other items are answered."
)


class BatchPoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: Any = Field(default=None, description="Echoed in the result (default: position).")
    lon: Any = Field(default=None, description=f"Longitude or x. {ITEM_VALUE}")
    lat: Any = Field(default=None, description=f"Latitude or y. {ITEM_VALUE}")


class _BatchOptions(BaseModel):
    crs: str = Field(
        default="wgs84",
        description=CRS_DESCRIPTION,
        json_schema_extra={"enum": list(DOCUMENTED_CRS)},
    )
    level: LevelName | None = None
    max_distance_m: float | None = Field(default=None, ge=0, le=MAX_DISTANCE_M)
    detail: Literal["compact", "full"] = "compact"


class PointsBatch(_BatchOptions):
    """Points as a list of objects."""

    points: list[BatchPoint | Any] = Field(
        min_length=1, description="Up to WANGGE_BATCH_MAX_POINTS (default 100,000) points."
    )


class PointFeatureCollection(_BatchOptions):
    """Points as a GeoJSON FeatureCollection (id from `id` or `properties.id`)."""

    type: Literal["FeatureCollection"]
    features: list[Any] = Field(
        min_length=1, description="Point features; any other item gets a per-item error."
    )


BatchRequest = PointsBatch | PointFeatureCollection


class BatchItem(BaseModel):
    id: Any
    owner: str | AreaRef | None = None
    chain: list[AreaRef] | None = None
    also_covered_by: list[str] | list[AreaRef] | None = None
    nearest: dict[str, Any] | None = None
    error: str | None = Field(default=None, description="Why this item was not answered.")


class BatchArea(BaseModel):
    name: str | None
    level: LevelName
    chain: list[str]


class BatchAnswer(BaseModel):
    """Answers in input order; ``areas`` describes each area named (compact detail)."""

    generation: int
    level: LevelName
    detail: Literal["compact", "full"]
    count: int
    errors: int
    results: list[BatchItem]
    areas: dict[str, BatchArea] | None = None
    note: str | None = None


# -- buildings --------------------------------------------------------------------------------


class CrsName(BaseModel):
    name: str = Field(
        description="A CRS name, e.g. `urn:ogc:def:crs:OGC:1.3:CRS84` or "
        "`urn:ogc:def:crs:EPSG::4490`."
    )


class NamedCrs(BaseModel):
    """The 2008 GeoJSON ``crs`` member GIS tools still write (QGIS, GDAL, ArcGIS)."""

    type: Literal["name"]
    properties: CrsName


class BuildingsRequest(BaseModel):
    """A GeoJSON FeatureCollection of building (multi)polygons."""

    type: Literal["FeatureCollection"]
    features: list[Any] = Field(
        min_length=1, description="Polygon features; any other item gets a per-item error."
    )
    crs: Annotated[str, Field(json_schema_extra={"enum": list(DOCUMENTED_CRS)})] | NamedCrs = Field(
        default="wgs84",
        description=f"{CRS_DESCRIPTION} A GeoJSON file's named-CRS object is read too.",
    )
    level: LevelName | None = None


class Share(AreaRef):
    share: float = Field(ge=0, le=1)


class BuildingItem(BaseModel):
    id: Any
    owner: AreaRef | None = None
    shares: list[Share] | None = None
    split: bool | None = None
    error: str | None = None


class BuildingsAnswer(BaseModel):
    generation: int
    level: LevelName
    count: int
    results: list[BuildingItem]
