"""Open311 GeoReport v2 response shapes (for the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Service(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "service_code": "garbage",
                "service_name": "垃圾堆放",
                "description": "Garbage outside the bin room or dumped in public space",
                "metadata": False,
                "type": "realtime",
                "keywords": "garbage",
                "group": "市容所",
            }
        }
    )

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, object]]


class ServiceRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "service_request_id": "41",
                "status": "open",
                "status_notes": "assigned",
                "service_name": "垃圾堆放",
                "service_code": "garbage",
                "description": "垃圾桶旁堆满垃圾袋",
                "agency_responsible": "第3网格第2微网格 / 市容所",
                "service_notice": "",
                "requested_datetime": "2026-11-23T01:30:00Z",
                "updated_datetime": "2026-11-23T01:30:00Z",
                "expected_datetime": "2026-11-23T09:30:00Z",
                "address": "",
                "address_id": "",
                "zipcode": "",
                "lat": 31.2489,
                "long": 121.4015,
                "media_url": "",
            }
        }
    )

    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str
    extended_attributes: dict[str, object] | None = Field(
        default=None, description="With extensions=true: detailed state, owner, times"
    )


class Created(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None


class Open311Error(BaseModel):
    """Open311 errors are a list of these (not problem+json, as the spec requires)."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"code": 400, "description": "service_code: is required"}}
    )

    code: int
    description: str


class ServiceRequestUpdate(BaseModel):
    """One change of a request (FixMyStreet's servicerequestupdates extension)."""

    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str | None
    description: str
    media_url: str
    detailed_status: str | None = None
    event: str | None = None
