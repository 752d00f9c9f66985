"""Request and response models of the incident endpoints (with examples for the docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"
# located by lon + lat or by an address (the gis layer checks the same)
LOCATED: dict[str, Any] = {
    "anyOf": [{"required": ["lon", "lat"]}, {"required": ["address"]}],
    "dependentRequired": {"lon": ["lat"], "lat": ["lon"]},
}
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+ -]\d{2}:?\d{2})?$"
Source = Literal["hotline", "app", "patrol", "camera", "other"]
State = Literal[
    "reported",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "reopened",
    "suspended",
    "extended",
]


class Reporter(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)


class IncidentCreate(BaseModel):
    """One incident: located by ``lon``/``lat`` (+``crs``) or by a Chinese ``address``."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            **LOCATED,
            "example": {
                "category": "garbage",
                "description": "垃圾桶旁堆满垃圾袋",
                "source": "hotline",
                "lon": 121.4015,
                "lat": 31.2489,
                "reported_at": "2026-11-23T09:30:00+08:00",
                "reporter": {"name": "陈先生", "phone": "13800000000"},
                "external_id": "12345-20261123-0001",
            },
        },
    )

    category: str = Field(description="Category code (GET /v1/incident-categories).")
    description: str = Field(default="", max_length=4000)
    source: Source = "other"
    lon: float | None = Field(default=None, description="Longitude (or x for an EPSG crs).")
    lat: float | None = Field(default=None, description="Latitude (or y).")
    crs: str = Field(default="wgs84", description="wgs84, gcj02, bd09 or EPSG:n")
    accuracy_m: float | None = Field(default=None, gt=0, description="Fix accuracy, metres.")
    address: str | None = Field(default=None, max_length=500, examples=["兰溪路99弄12号"])
    district: str | None = Field(default=None, max_length=100, examples=["普陀区"])
    reported_at: str | None = Field(
        default=None,
        pattern=TIME_PATTERN,
        description="When it was reported, ISO 8601 (default: now; without a zone: UTC).",
        examples=["2026-11-23T09:30:00+08:00"],
    )
    reporter: Reporter | None = None
    attachments: list[str] = Field(default_factory=list, description="http(s) URLs.")
    external_id: str | None = Field(
        default=None,
        max_length=200,
        description="The caller's id: sending it again answers 200 with the stored incident.",
    )


class IncidentBatch(BaseModel):
    """Up to 10,000 incidents (each shaped like IncidentCreate); errors are per item."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "incidents": [
                    {"category": "garbage", "lon": 121.4015, "lat": 31.2489, "external_id": "a1"},
                    {"category": "water_leak", "address": "兰溪路99弄12号", "external_id": "a2"},
                ]
            }
        }
    )

    incidents: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class BatchItem(BaseModel):
    index: int
    id: int | None = None
    created: bool | None = None
    external_id: str | None = None
    status: str | None = None
    location_status: str | None = None
    owner_code: str | None = None
    duplicate_of: int | None = None
    due_at: datetime | None = None
    error: dict[str, str] | None = Field(default=None, description="{field, reason}")


class BatchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "count": 2,
                "created": 1,
                "existing": 0,
                "errors": 1,
                "results": [
                    {
                        "index": 0,
                        "id": 41,
                        "created": True,
                        "external_id": "a1",
                        "status": "assigned",
                        "location_status": "ok",
                        "owner_code": "ZR-G03-M02",
                        "duplicate_of": None,
                        "due_at": "2026-11-23T09:30:00+00:00",
                    },
                    {"index": 1, "error": {"field": "category", "reason": "unknown category"}},
                ],
            }
        }
    )

    count: int
    created: int
    existing: int
    errors: int
    results: list[BatchItem]


class IncidentFeature(BaseModel):
    """An incident as a GeoJSON Feature (``geometry`` null while it is not located)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "Feature",
                "id": 41,
                "geometry": {"type": "Point", "coordinates": [121.4015, 31.2489]},
                "properties": {
                    "id": 41,
                    "category": "garbage",
                    "status": "assigned",
                    "location_status": "ok",
                    "owner": {"code": "ZR-G03-M02", "name": "第3网格第2微网格"},
                    "due_at": "2026-11-23T09:30:00+00:00",
                    "timeline": [{"kind": "reported", "to": "reported", "actor": "intake"}],
                },
            }
        }
    )

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class IncidentCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int
    numberReturned: int
    links: list[dict[str, str]]
    features: list[IncidentFeature]


class Where(BaseModel):
    """Where a step happened (WGS-84)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    actor: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="Who did it. Default, and the only choice for most keys: the key's holder "
        "(its name); only a key that acts for others (admin, or acts_for_others) names someone.",
    )
    note: str = Field(default="", max_length=4000, pattern=NO_NUL)
    location: Where | None = Field(default=None, description="Where it happened.")
    client_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="A client-made id: the same id again answers the first answer and "
        "stores nothing twice (an offline phone's queue resending).",
    )
    expect_status: (
        Literal[
            "reported",
            "assigned",
            "in_progress",
            "resolved",
            "closed",
            "returned",
            "reopened",
            "suspended",
            "extended",
        ]
        | None
    ) = Field(
        default=None,
        description="The state the person saw: 409 if the incident has moved since.",
    )


class StepIn(_Step):
    """Any step but an SLA extension."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "to": "in_progress",
                "actor": "王芳",
                "note": "已到现场",
                "location": {"lon": 121.4015, "lat": 31.2489},
            }
        }
    )

    to: Literal[
        "reported",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "returned",
        "reopened",
        "suspended",
    ]


class ExtensionIn(_Step):
    """An SLA extension: needs the reason (``note``); ``hours`` default to the category's SLA."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"to": "extended", "actor": "王芳", "note": "等待维修配件", "hours": 8}
        }
    )

    to: Literal["extended"]
    note: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    hours: float | None = Field(default=None, gt=0, le=8760, description="Hours added.")


TransitionIn = Annotated[StepIn | ExtensionIn, Field(discriminator="to")]


class TransitionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    from_: str = Field(alias="from")
    to: str
    at: datetime
    due_at: datetime


class LocationIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            **LOCATED,
            "example": {"lon": 121.4021, "lat": 31.2493, "actor": "调度员李"},
        },
    )

    lon: float | None = Field(default=None, description="Longitude (or x for an EPSG crs).")
    lat: float | None = Field(default=None, description="Latitude (or y).")
    crs: str = Field(default="wgs84", description="wgs84, gcj02, bd09 or EPSG:n")
    address: str | None = Field(default=None, max_length=500)
    district: str | None = Field(default=None, max_length=100)
    actor: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: the key's holder."
    )
    note: str = Field(default="", max_length=4000)


class LocationOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    from_: dict[str, Any] = Field(alias="from", description="Owner and point before.")
    to: dict[str, Any] = Field(description="Owner and point after.")
    status: str


class DuplicateIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"example": {"of": 41, "actor": "王芳", "close": True}},
    )

    of: int | None = Field(ge=1, le=MAX_ID, description="The incident it duplicates; null unlinks.")
    actor: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: the key's holder."
    )
    note: str = Field(default="", max_length=4000)
    close: bool = Field(default=False, description="Merge: also close this incident.")


class DuplicateOut(BaseModel):
    id: int
    duplicate_of: int | None
    status: str


class Category(BaseModel):
    code: str
    name: str
    sla_hours: float
    clock: Literal["working", "calendar"]
    duplicate_radius_m: float
    duplicate_window_hours: float
    department: str
    description: str


class Figures(BaseModel):
    count: int
    resolved: int
    resolution_rate: float | None
    open: int
    overdue: int
    duplicates: int
    needs_review: int
    assign_median_s: float | None
    assign_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


class GroupFigures(Figures):
    key: str | None


class StatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "group_by": "category",
                "total": {
                    "count": 4210,
                    "resolved": 4046,
                    "resolution_rate": 0.961,
                    "open": 164,
                    "overdue": 97,
                    "duplicates": 180,
                    "needs_review": 31,
                    "assign_median_s": 300.0,
                    "assign_p90_s": 1500.0,
                    "resolve_median_s": 52000.0,
                    "resolve_p90_s": 190000.0,
                },
                "groups": [],
            }
        }
    )

    group_by: str
    total: Figures
    groups: list[GroupFigures]
