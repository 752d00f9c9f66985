"""The tables wangge serves as features, described once (``/v1/areas`` and OGC read these).

Incidents (migration 0004) are served without the reporter's name, description, address or
attachments, and with the reporter's phone masked; incidents that could not be located
(``geom`` NULL) are served with a null geometry and counted like the others.
"""

from __future__ import annotations

from typing import Final

from gis.features.source import Prop, Source
from gis.security.roles import mask_phone
from gis.store.models import AREAS, BUILDINGS, FACILITIES, INCIDENTS

AREA_SOURCE: Final = Source(
    table=AREAS,
    id_column="code",
    geometry_type="MultiPolygon",
    props=(
        Prop("code", "string", "Area code (stable across generations)"),
        Prop("name", "string", "Name"),
        Prop("level", "string", "Level of the grid hierarchy", queryable=False),
        Prop("parent_code", "string", "Code of the parent area"),
        Prop("area_m2", "number", "Area in square metres (ellipsoidal)", decimals=1),
        Prop("attributes", "object", "Other attributes from the imported file", queryable=False),
    ),
)

BUILDING_SOURCE: Final = Source(
    table=BUILDINGS,
    id_column="code",
    geometry_type="MultiPolygon",
    props=(
        Prop("code", "string", "Building code"),
        Prop("name", "string", "Name"),
        Prop("address", "string", "Standard address"),
        Prop("households", "integer", "Households"),
        Prop("residents", "integer", "Residents"),
        Prop("attributes", "object", "Other attributes", queryable=False),
    ),
)

FACILITY_SOURCE: Final = Source(
    table=FACILITIES,
    id_column="code",
    geometry_type="Point",
    props=(
        Prop("code", "string", "Facility code"),
        Prop("kind", "string", "Kind (clinic, school, elderly_care…)"),
        Prop("name", "string", "Name"),
        Prop("attributes", "object", "Other attributes", queryable=False),
    ),
)

INCIDENT_SOURCE: Final = Source(
    table=INCIDENTS,
    id_column="id",
    geometry_type="Point",
    props=(
        Prop("category", "string", "Category code"),
        Prop("status", "string", "Status (reported, assigned, in_progress, resolved, closed…)"),
        Prop("source", "string", "Channel it came in by (hotline, app, patrol, camera, other)"),
        Prop("location_status", "string", "ok, or needs_review when it could not be located"),
        Prop(
            "reported_at",
            "string",
            "When it was reported (RFC 3339)",
            queryable=False,
            format="date-time",
        ),
        Prop(
            "due_at",
            "string",
            "When it is due under its category's SLA",
            queryable=False,
            format="date-time",
        ),
        Prop(
            "resolved_at",
            "string",
            "When it was resolved, if it was",
            queryable=False,
            format="date-time",
        ),
        Prop("owner_code", "string", "Code of the micro-grid responsible when it came in"),
        Prop("owner_name", "string", "Name of that micro-grid", queryable=False),
        Prop("duplicate_of", "integer", "Id of the incident this one repeats, if any"),
        # masked as for callers without the "unmasked" permission; never a filter, which
        # would let anyone test a guessed number against the raw value
        Prop(
            "reporter_phone",
            "string",
            "Reporter's phone, masked (138****5678)",
            queryable=False,
            serve=mask_phone,
        ),
    ),
)
