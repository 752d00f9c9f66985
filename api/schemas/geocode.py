"""Request and response models of ``/v1/geocode`` and ``/v1/reverse`` (examples are real
answers from the demo street)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHAIN_EXAMPLE: Any = [
    {"code": "310107016", "name": "真如镇街道", "level": "street"},
    {"code": "310107016011", "name": "真如西村居民区", "level": "community"},
    {"code": "310107016011-G02", "name": "第32网格", "level": "grid"},
    {"code": "310107016011-G02-M04", "name": "管弄路227弄1-11号", "level": "micro_grid"},
]


class AreaRef(BaseModel):
    """An area as named in answers."""

    code: str
    name: str | None
    level: str


class Owner(AreaRef):
    """The area owning the geocoded point, with its ancestor chain (largest first)."""

    chain: list[AreaRef]
    generation: int = Field(description="The boundary generation used.")


class Components(BaseModel):
    """The parsed parts of the address (None where absent)."""

    district: str | None = Field(examples=["普陀区"])
    road: str | None = Field(description="Road or named place.", examples=["管弄路"])
    lane: str | None = Field(description="弄", examples=["227"])
    number: str | None = Field(description="号", examples=[None])
    building: str | None = Field(description="幢 / 栋 / 号楼 / 座", examples=["9"])
    unit: str | None = Field(description="单元", examples=[None])
    room: str | None = Field(description="室", examples=[None])


class Candidate(BaseModel):
    """A standard address the input may mean."""

    standard_address: str
    code: str
    district: str | None
    lon: float
    lat: float
    score: float = Field(ge=0, le=1)
    match_level: str


class Geocoded(BaseModel):
    """What an address means: the standard address, its WGS-84 point and its owner."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "input": "上海市普陀区管弄路二二七弄9号楼门口",
                "normalized": "管弄路227弄9幢",
                "components": {
                    "district": "普陀区",
                    "road": "管弄路",
                    "lane": "227",
                    "number": None,
                    "building": "9",
                    "unit": None,
                    "room": None,
                },
                "match_level": "number",
                "standard_address": "管弄路227弄9号",
                "code": "B2394",
                "district": None,
                "lon": 121.39037746336004,
                "lat": 31.24369315,
                "score": 1.0,
                "needs_review": False,
                "road_match": "exact",
                "note": None,
                "candidates": [],
                "owner": {
                    "code": "310107016011-G02-M04",
                    "name": "管弄路227弄1-11号",
                    "level": "micro_grid",
                    "chain": CHAIN_EXAMPLE,
                    "generation": 1,
                },
            }
        }
    )

    input: str
    normalized: str = Field(description="Canonical text: numerals, widths, synonyms unified.")
    components: Components
    match_level: str = Field(description="room, building, number, lane, road or none.")
    standard_address: str | None
    code: str | None = Field(description="The standard address's code in the gazetteer.")
    district: str | None
    lon: float | None = Field(description="WGS-84; null unless a standard address was found.")
    lat: float | None
    score: float = Field(ge=0, le=1)
    needs_review: bool = Field(
        description="A person should check: the number is not on the road, several places "
        "fit, or the district is unknown. Never answered with the nearest number instead."
    )
    road_match: str | None = Field(
        description="How the road name matched: exact, suffix, homophone, near_homophone, typo."
    )
    note: str | None = Field(description="Why the answer needs review, in words.")
    candidates: list[Candidate]
    owner: Owner | None = Field(description="Owning micro-grid; null without boundaries.")


class BatchItem(BaseModel):
    """One address of a batch."""

    id: Any = Field(default=None, description="Echoed back (default: the position).")
    address: str
    district: str | None = None


class BatchRequest(BaseModel):
    """Up to 10,000 addresses (objects or plain strings), with an optional default district."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "district": "普陀区",
                "addresses": [
                    {"id": "call-1", "address": "管弄路227弄9号楼"},
                    {"id": "call-2", "address": "杏山路四十九弄一号门口"},
                    "梅川路454号",
                ],
            }
        }
    )

    district: str | None = None
    addresses: list[BatchItem | str] = Field(max_length=10_000)


class ItemError(BaseModel):
    field: str
    reason: str


class BatchResult(Geocoded):
    """One batch answer: a geocoding result with the item's ``id``."""

    model_config = ConfigDict(json_schema_extra={})

    id: Any


class BatchError(BaseModel):
    """A batch item that could not be geocoded (the others are still answered)."""

    id: Any
    error: ItemError


class BatchResponse(BaseModel):
    """Per-address results in input order, with counts."""

    count: int
    matched: int = Field(description="Answers that need no review.")
    needs_review: int
    errors: int
    results: list[BatchResult | BatchError] = Field(description="In input order.")


class NearAddress(BaseModel):
    """A standard address near a point."""

    standard_address: str
    code: str
    district: str | None
    lon: float
    lat: float
    match_level: str
    distance_m: float = Field(description="Distance on the WGS-84 ellipsoid, metres.")


class ReverseAreas(BaseModel):
    """The areas owning the point (as ``/v1/assign`` answers)."""

    owner: AreaRef | None
    chain: list[AreaRef]
    also_covered_by: list[AreaRef]
    nearest: dict[str, Any] | None
    generation: int


class Reversed(BaseModel):
    """The nearest standard address(es) and the owning areas of a point."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "input": {"lon": 121.4015, "lat": 31.2489, "crs": "wgs84"},
                "lon": 121.4015,
                "lat": 31.2489,
                "nearest": {
                    "standard_address": "杨家桥路101弄11号",
                    "code": "B1545",
                    "district": None,
                    "lon": 121.4013018,
                    "lat": 31.2488981,
                    "match_level": "number",
                    "distance_m": 18.88,
                },
                "addresses": [],
                "areas": {
                    "owner": {
                        "code": "310107016007-G02-M02",
                        "name": "杨家桥路101弄9-16号",
                        "level": "micro_grid",
                    },
                    "chain": [],
                    "also_covered_by": [],
                    "nearest": None,
                    "generation": 1,
                },
            }
        }
    )

    input: dict[str, Any]
    lon: float
    lat: float
    nearest: NearAddress | None
    addresses: list[NearAddress]
    areas: ReverseAreas | None = Field(description="Null when no boundaries are loaded.")


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` substituted in place, for an
    ``openapi_extra`` request body (whose ``#/$defs/…`` references would not resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
