"""SQLAlchemy 2 + GeoAlchemy2 models: the schema of record (changed only by migrations).

Areas are versioned by boundary *generation*: a row is valid for the generations in its
``valid`` range ``[first, last+1)``. A row never changes except to close that range when a
later generation redraws or removes the area, so any past generation can still be read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INT4RANGE, JSONB, ExcludeConstraint, Range
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.levels import FACILITY_KINDS, LEVELS, STAFF_ROLES


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    pass


class Generation(Base):
    """A numbered boundary version. One is ``current``; at most one is ``open`` for imports."""

    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'current', 'retired')", name="generation_state"),
        Index(
            "one_current_generation",
            "state",
            unique=True,
            postgresql_where=text("state = 'current'"),
        ),
        Index("one_open_generation", "state", unique=True, postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Area(Base):
    """One version of an area of the grid hierarchy."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_one_of("level", LEVELS), name="area_level"),
        CheckConstraint("NOT isempty(valid)", name="area_valid_not_empty"),
        ExcludeConstraint(
            ("code", "="), ("valid", "&&"), name="area_code_unique_per_generation", using="gist"
        ),
        Index("areas_level_idx", "level"),
        Index("areas_geom_idx", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    area_m2: Mapped[float] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    valid: Mapped[Range[int]] = mapped_column(INT4RANGE)


class AreaPart(Base):
    """An area's polygon cut by ``ST_Subdivide`` into small, GiST-indexed pieces."""

    __tablename__ = "area_parts"
    __table_args__ = (Index("area_parts_geom_idx", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))


class Building(Base):
    """A building footprint with its households."""

    __tablename__ = "buildings"
    __table_args__ = (
        CheckConstraint("households >= 0", name="building_households"),
        CheckConstraint("residents >= 0", name="building_residents"),
        Index("buildings_geom_idx", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(Text, default="")
    households: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    geom: Mapped[Any] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Staff(Base):
    """A person responsible for an area (by code) or a building (by code)."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(_one_of("role", STAFF_ROLES), name="staff_role"),
        CheckConstraint("num_nonnulls(area_code, building_code) = 1", name="staff_one_target"),
        Index("staff_area_code_idx", "area_code"),
        Index("staff_building_code_idx", "building_code"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text, default="")
    area_code: Mapped[str | None] = mapped_column(Text)
    building_code: Mapped[str | None] = mapped_column(
        ForeignKey("buildings.code", ondelete="RESTRICT")
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Facility(Base):
    """A service facility (clinic, school, elderly care…) as a point."""

    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint(_one_of("kind", FACILITY_KINDS), name="facility_kind"),
        Index("facilities_geom_idx", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core tables, for queries written with SQLAlchemy Core expressions.
GENERATIONS = _table(Generation)
AREAS = _table(Area)
AREA_PARTS = _table(AreaPart)
BUILDINGS = _table(Building)
STAFF = _table(Staff)
FACILITIES = _table(Facility)


class DataVersion(Base):
    """A counter per table, bumped by a statement trigger on every change (migration 0002)."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


DATA_VERSIONS = _table(DataVersion)


# -- security: API keys and the audit log (migration 0005_security) ---------------------------


class ApiKey(Base):
    """An API key: its public id, name, role and scope; the secret only as a scrypt hash."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(Text)
    scope: Mapped[str | None] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: may name another person as the actor of a step (migration 0017_field)
    acts_for_others: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """One audited action: who (key), what (action, target), when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    key_id: Mapped[str | None] = mapped_column(Text)
    key_name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


API_KEYS = _table(ApiKey)
AUDIT_LOG = _table(AuditEntry)
# -- incidents (issue 13): categories, incidents with a responsibility snapshot, timeline -----

INCIDENT_SOURCES = ("hotline", "app", "patrol", "camera", "other")
INCIDENT_STATES = (
    "reported",
    "assigned",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "reopened",
    "suspended",
    "extended",
)


class IncidentCategory(Base):
    """A kind of incident with its SLA, clock, duplicate rule and department (user data)."""

    __tablename__ = "incident_categories"
    __table_args__ = (
        CheckConstraint("clock IN ('working', 'calendar')", name="incident_category_clock"),
        CheckConstraint("sla_hours > 0", name="incident_category_sla"),
        CheckConstraint("duplicate_radius_m >= 0", name="incident_category_radius"),
        CheckConstraint("duplicate_window_hours >= 0", name="incident_category_window"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    sla_hours: Mapped[float] = mapped_column(Float)
    clock: Mapped[str] = mapped_column(Text)
    duplicate_radius_m: Mapped[float] = mapped_column(Float)
    duplicate_window_hours: Mapped[float] = mapped_column(Float)
    department: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Incident(Base):
    """A reported problem, located and assigned, with who was responsible at intake."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_one_of("source", INCIDENT_SOURCES), name="incident_source"),
        CheckConstraint(_one_of("status", INCIDENT_STATES), name="incident_status"),
        CheckConstraint(
            "location_status IN ('ok', 'needs_review')", name="incident_location_status"
        ),
        Index("incidents_geom_idx", "geom", postgresql_using="gist"),
        Index("incidents_area_codes_idx", "area_codes", postgresql_using="gin"),
        Index("incidents_reported_at_idx", "reported_at"),
        Index("incidents_status_idx", "status"),
        Index("incidents_category_idx", "category", "reported_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    category: Mapped[str] = mapped_column(
        ForeignKey("incident_categories.code", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    input_lon: Mapped[float | None] = mapped_column(Float)
    input_lat: Mapped[float | None] = mapped_column(Float)
    input_crs: Mapped[str | None] = mapped_column(Text)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    geocode: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    location_status: Mapped[str] = mapped_column(Text)
    review_reason: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # deferred: a batch may link to a row that a concurrent retry inserted first (fixed up
    # before commit)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"),
        index=True,
    )
    # the responsibility snapshot: never rewritten when boundaries or rosters change
    owner_code: Mapped[str | None] = mapped_column(Text, index=True)
    owner_name: Mapped[str | None] = mapped_column(Text)
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    chain: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    generation: Mapped[int | None] = mapped_column(Integer)
    staff: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the key id of the API key that submitted it (an integration key reads back its own)
    submitted_by: Mapped[str | None] = mapped_column(Text, index=True)


class IncidentEvent(Base):
    """One step of an incident's timeline: a transition, a relocation, a link."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text, default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    #: the key that made the step (migration 0017_field)
    key_id: Mapped[str | None] = mapped_column(Text)
    key_name: Mapped[str | None] = mapped_column(Text)


INCIDENT_CATEGORIES = _table(IncidentCategory)
INCIDENTS = _table(Incident)
INCIDENT_EVENTS = _table(IncidentEvent)


# -- geocoding: the standard-address gazetteer (标准地址), migration 0003_gazetteer --------------


class Address(Base):
    """A standard address with its parsed components and a point (a polygon's representative
    point). ``normalized`` and the components are what ``gis.geocode.normalize`` makes of
    ``address``; they are stored so the gazetteer loads without re-parsing."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("addresses_geom_idx", "geom", postgresql_using="gist"),
        Index("addresses_road_idx", "road"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    address: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    road: Mapped[str | None] = mapped_column(Text)
    lane: Mapped[str | None] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text)
    building: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(Text)
    room: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    building_code: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


ADDRESSES = _table(Address)


# -- statistics facts (issue 13, migration 0013_stats_facts): kept by triggers on incidents --


class IncidentFactCell(Base):
    """A (category, owner, area chain) that incidents share: the dictionary behind a fact's
    ``cell_id`` (never changed, never deleted)."""

    __tablename__ = "incident_fact_cells"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(Text)
    owner_code: Mapped[str | None] = mapped_column(Text)
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))


class IncidentFact(Base):
    """One narrow row per incident for /v1/stats, written by the incidents triggers only."""

    __tablename__ = "incident_facts"
    __table_args__ = (
        Index("incident_facts_cell_idx", "cell_id"),
        Index("incident_facts_reported_at_idx", "reported_at"),
    )

    late_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    packed: Mapped[bytes] = mapped_column(LargeBinary)
    packed_day: Mapped[bytes] = mapped_column(LargeBinary)
    incident_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cell_id: Mapped[int] = mapped_column(Integer)
    needs_review: Mapped[bool] = mapped_column(Boolean)
    duplicate: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(Text)


INCIDENT_FACT_CELLS = _table(IncidentFactCell)
INCIDENT_FACTS = _table(IncidentFact)


# -- field work (issues 22 G/H, 24): sessions, photos, client action ids; 0017_field --------

PHOTO_STAGES = ("intake", "before", "after", "other")


class BrowserSession(Base):
    """A browser sign-in: the SHA-256 of the cookie's token, its key and anti-CSRF token."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.key_id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client: Mapped[str] = mapped_column(Text, default="")


class IncidentPhoto(Base):
    """A photo of an incident: the file is content-addressed (``sha256``) under the media
    folder; a deleted photo keeps its row (``deleted_at``) for the audit trail."""

    __tablename__ = "incident_photos"
    __table_args__ = (CheckConstraint(_one_of("stage", PHOTO_STAGES), name="incident_photo_stage"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(Text, default="other")
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    key_id: Mapped[str | None] = mapped_column(Text)
    key_name: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClientAction(Base):
    """The answer to an action sent with a client-made id (an offline phone's queue), so a
    resend gets the same answer and stores nothing twice."""

    __tablename__ = "client_actions"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key_id: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(Text)
    answer: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


SESSIONS = _table(BrowserSession)
INCIDENT_PHOTOS = _table(IncidentPhoto)
CLIENT_ACTIONS = _table(ClientAction)


# -- serving on several hosts (issue 28, migration 0018_serving; both tables UNLOGGED) ---------


class RateBucket(Base):
    """A per-key token bucket shared by every API worker and host (synced periodically)."""

    __tablename__ = "rate_buckets"

    who: Mapped[str] = mapped_column(Text, primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KeyWrite(Base):
    """When a key last wrote: its reads go to the primary until every replica has it."""

    __tablename__ = "key_writes"

    key_id: Mapped[str] = mapped_column(Text, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


RATE_BUCKETS = _table(RateBucket)
KEY_WRITES = _table(KeyWrite)


# -- events (issue 26, migration 0019_events): the outbox and webhook subscriptions ----------


class Event(Base):
    """One change, in commit order: written in the change's transaction (the outbox)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("events_at_idx", "at"),
        Index("events_incident_idx", "incident_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    category: Mapped[str | None] = mapped_column(Text)
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class EventSubscription(Base):
    """A webhook: where to POST which events, its signing secret and its delivery cursor."""

    __tablename__ = "event_subscriptions"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'paused')", name="event_subscription_state"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    types: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    area: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    scope: Mapped[str | None] = mapped_column(Text)
    #: an integration key's id: its subscriptions carry the incidents it submitted only
    submitter: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, default="active")
    cursor: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    last_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


EVENTS = _table(Event)
EVENT_SUBSCRIPTIONS = _table(EventSubscription)
