"""Coverage thresholds: the one place their defaults live, with what each one means.

Every report states the thresholds it used. Defaults can be overridden per deployment
(``WANGGE_COVERAGE_THRESHOLDS``, a JSON object) and per run (``run_coverage(thresholds=…)``,
``wangge coverage --set NAME=VALUE``); per-run values win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gis.errors import InvalidInput
from gis.levels import FACILITY_KINDS, LEVELS

#: Walking reach of each kind of facility in metres, the one table of service radii: the
#: coverage check's defaults (for CHECKED_SERVICES) and the service circles of the map pages.
#: The 15-minute community life circle: daily needs within 5 minutes ≈ 300 m, weekly within
#: 10 ≈ 500 m, the rest within 15 ≈ 1 km; the community centre (党群服务站) anchors it, 1 km.
SERVICE_RADIUS_M: dict[str, float] = {
    "kindergarten": 500.0,
    "market": 300.0,
    "elderly_care": 500.0,
    "community_centre": 1000.0,
    "clinic": 500.0,
    "park": 500.0,
    "school": 1000.0,
    "police": 1000.0,
    "fire_station": 1000.0,
}
#: The facility kinds the coverage check measures unless told otherwise.
CHECKED_SERVICES = ("elderly_care", "kindergarten", "community_centre")


class Thresholds(BaseModel):
    """Limits the coverage checks apply; lengths in metres, areas in m² (local metric CRS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gap_min_m2: float = Field(
        default=10.0,
        ge=0,
        description="Land of a parent left uncovered by its children is a "
        "`gap` from this area up (smaller, wider-than-sliver pieces are counted as ignored).",
    )
    overlap_min_m2: float = Field(
        default=1.0,
        ge=0,
        description="Land claimed by two siblings is an `overlap` from this area up.",
    )
    sliver_max_width_m: float = Field(
        default=2.0,
        ge=0,
        description="A gap or overlap piece whose minimum rotated rectangle "
        "has a short side below this width is a `sliver`.",
    )
    sliver_min_m2: float = Field(
        default=0.5,
        ge=0,
        description="Slivers smaller than this are floating-point noise and "
        "ignored (counted in the summary).",
    )
    outside_parent_min_m2: float = Field(
        default=1.0,
        ge=0,
        description="A child reaching this far (m²) outside its parent is reported.",
    )
    degenerate_max_m2: float = Field(
        default=1.0, ge=0, description="An area polygon smaller than this is `degenerate`."
    )
    duplicate_min_share: float = Field(
        default=0.99,
        gt=0,
        le=1,
        description="Two siblings sharing at least this part of each "
        "one's area are a `duplicate` (reported instead of an overlap).",
    )
    non_tiling_levels: tuple[str, ...] = Field(
        default=("corridor",),
        description="Levels whose areas are not meant to tile their "
        "parent (corridors are slices of buildings): no gap or subdivision checks for them.",
    )
    building_level: str = Field(
        default="micro_grid",
        description="Level every building must lie in exactly once; "
        "also the level of the people and service checks.",
    )
    building_min_share: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="A building part below this share of its "
        "footprint does not make it split or partly outside (drawing tolerance).",
    )
    outside_near_m: float = Field(
        default=50.0,
        ge=0,
        description="Areas of `building_level` within this distance of a "
        "building outside all of them are named in the finding.",
    )
    address_level: str = Field(
        default="community",
        description="Level whose areas a building's address (its lane, "
        "…弄) must agree with: the lane belongs to the area holding most of its buildings.",
    )
    households_per_member_max: float = Field(
        default=300.0,
        gt=0,
        description="Households per grid member (full- and part-time) of "
        "a micro-grid above this is reported.",
    )
    service_radius_m: dict[str, float] = Field(
        default_factory=lambda: {kind: SERVICE_RADIUS_M[kind] for kind in CHECKED_SERVICES},
        description="Service radius per facility kind: elderly care and kindergartens 500 m; "
        "the community centre (党群服务站) anchors the 15-minute life circle, 1,000 m.",
    )
    service_detour_factor: float = Field(
        default=1.0,
        ge=1,
        description="Straight-line distance × this factor must be within "
        "the radius (1.0 = straight line; ~1.3 approximates walking on streets).",
    )
    service_max_unserved_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="A micro-grid is reported when the share of its "
        "households out of reach of a facility kind is above this.",
    )
    incident_resolution_rate_min: float = Field(
        default=0.96,
        ge=0,
        le=1,
        description="Resolution rate (resolved or closed / all) "
        "below this is reported, for micro-grids with at least `incident_min_count` incidents.",
    )
    incident_min_count: int = Field(
        default=10, ge=1, description="Fewest incidents before a resolution rate is judged."
    )

    # -- patrols (issue 27): cleaning a GPS track and what counts as a visit --------------
    patrol_max_accuracy_m: float = Field(
        default=30.0,
        gt=0,
        description="A patrol fix whose reported accuracy (m) is worse than this is dropped.",
    )
    patrol_max_speed_kmh: float = Field(
        default=25.0,
        gt=0,
        description="A fix reached from the previous kept fix and left to the next one faster "
        "than this (km/h) is a spike and dropped; a single step faster than this breaks the "
        "track there (no segment is drawn across it).",
    )
    patrol_max_gap_s: float = Field(
        default=300.0,
        gt=0,
        description="Two fixes further apart in time than this (s) are not joined by a segment "
        "(no one claims a straight walk through minutes without a fix).",
    )
    patrol_visit_m: float = Field(
        default=15.0,
        ge=0,
        description="A building is visited when a segment of the cleaned track passes within "
        "this distance (m, local metric CRS) of its footprint.",
    )
    patrol_window_days: float = Field(
        default=30.0,
        gt=0,
        description="A residential building not visited by any patrol in this many days is "
        "`unpatrolled`.",
    )
    patrol_geofence_s: float = Field(
        default=600.0,
        gt=0,
        description="Fixes outside the member's own micro-grid for longer than this (s) are "
        "noted on the patrol (not an alarm; leaders see it).",
    )

    def tiling_levels(self) -> list[str]:
        """Levels whose areas must tile their parent."""
        return [level for level in LEVELS if level not in self.non_tiling_levels]


def _check_names(t: Thresholds) -> Thresholds:
    for name in ("building_level", "address_level"):
        if getattr(t, name) not in LEVELS:
            raise InvalidInput(
                f"unknown level {getattr(t, name)!r}; expected one of {', '.join(LEVELS)}",
                field=f"thresholds.{name}",
            )
    for level in t.non_tiling_levels:
        if level not in LEVELS:
            raise InvalidInput(f"unknown level {level!r}", field="thresholds.non_tiling_levels")
    for kind, radius in t.service_radius_m.items():
        if kind not in FACILITY_KINDS:
            raise InvalidInput(
                f"unknown facility kind {kind!r}; expected one of {', '.join(FACILITY_KINDS)}",
                field="thresholds.service_radius_m",
            )
        if not radius > 0:
            raise InvalidInput(
                f"radius of {kind} must be > 0 m", field="thresholds.service_radius_m"
            )
    return t


def resolve_thresholds(*layers: Mapping[str, Any] | Thresholds | None) -> Thresholds:
    """Defaults overridden by each layer in turn (later wins); InvalidInput names a bad one."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        values = layer.model_dump() if isinstance(layer, Thresholds) else dict(layer)
        merged.update(values)
    try:
        thresholds = Thresholds(**merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(p) for p in error["loc"]) or "thresholds"
        raise InvalidInput(error["msg"], field=f"thresholds.{name}") from None
    return _check_names(thresholds)
