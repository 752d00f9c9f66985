"""All wangge configuration, read from ``WANGGE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis import limits


class Settings(BaseSettings):
    """wangge settings; every field can be set as ``WANGGE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostGIS database. Unset: wangge runs its "
        "own cluster under `home`.",
    )
    home: Path = Field(
        default=Path(".wangge"),
        description="Folder of the managed PostgreSQL cluster (data, log, socket).",
    )
    pg_bindir: Path | None = Field(
        default=None,
        description="Folder holding initdb/pg_ctl for the managed cluster. Unset: the newest "
        "/usr/lib/postgresql/*/bin, then PATH.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API server binds to.")
    port: int = Field(default=8000, description="Port the API server listens on.")
    batch_max_points: int = Field(
        default=100_000, description="Largest number of points one batch request may carry."
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, description="Largest request body the API accepts, in bytes."
    )
    index_check_seconds: float = Field(
        default=2.0,
        description="How often each API worker checks for a newly activated boundary generation.",
    )

    # -- incidents (issue 13) ------------------------------------------------------------------
    incident_timezone: str = Field(
        default="Asia/Shanghai",
        description="Time zone of working hours and of `day` statistics (IANA name).",
    )
    incident_work_start: str = Field(
        default="09:00", description="Start of the working day for `working` SLA clocks (HH:MM)."
    )
    incident_work_end: str = Field(
        default="17:30", description="End of the working day for `working` SLA clocks (HH:MM)."
    )
    incident_calendar_file: Path | None = Field(
        default=None,
        description="CSV `date,kind` (kind `workday` or `holiday`) overriding the Chinese "
        "public-holiday calendar of the chinese-calendar package, e.g. for a year it lacks.",
    )
    incident_batch_max: int = Field(
        default=10_000, description="Largest number of incidents one batch intake may carry."
    )

    # maps (issue 15)
    tianditu_key: str | None = Field(
        default=None,
        description="Tianditu (天地图) API key for the `tianditu` basemap. Unset: that basemap "
        "answers 422 naming `basemap`.",
    )
    map_inline_max_features: int = Field(
        default=2000,
        description="Largest layer a map page embeds as GeoJSON; bigger layers are drawn from "
        "vector tiles (/tiles).",
    )

    # --- coverage checks ---
    coverage_thresholds: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the coverage thresholds as a JSON object, e.g. "
        '\'{"gap_min_m2": 50, "service_radius_m": {"elderly_care": 800}}\'; names and '
        "defaults in gis/coverage/thresholds.py (`wangge coverage --help` lists them).",
    )

    # -- access (issue 16) ------------------------------------------------------------------
    public_access: bool = Field(
        default=False,
        description="Let callers without a key use the maps and assignment, read-only (staff "
        "phones masked): for a public deployment. Everything else still needs a key.",
    )
    rate_limit_per_second: float = Field(
        default=100.0,
        ge=0,
        description="Requests per second each API key (anonymous callers: each client address) "
        "may make to one worker, sustained; 0 turns the limit off. Over it: 429 with "
        "Retry-After.",
    )
    rate_limit_burst: int = Field(
        default=200,
        ge=1,
        description="Requests a key may make at once above the sustained rate.",
    )
    failed_key_burst: int = Field(
        default=20,
        ge=1,
        description="Wrong API keys one client address may send before it is refused (429) "
        "without checking more; then one more per second.",
    )

    # --- reliability under load (issue 16) ---
    shutdown_grace_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="On SIGTERM/Ctrl-C, `wangge serve` stops accepting connections and lets "
        "requests in flight finish for up to this many seconds before closing them.",
    )

    # --- security limits (issue 16) ---
    max_page_size: int = Field(
        default=limits.MAX_PAGE_SIZE,
        ge=limits.DEFAULT_PAGE_SIZE,
        le=limits.PAGE_SIZE_CEILING,
        description="Largest `limit` of every paged list (areas, incidents, review queue, OGC "
        "items) and the most requests Open311 lists at once; at least 100, the default page.",
    )
    max_bbox_km2: float = Field(
        default=limits.MAX_BBOX_KM2,
        gt=0,
        description="Largest area a `bbox` parameter may cover (km², on the sphere): areas, "
        "incidents, stats, exports, heatmap, OGC items.",
    )
    max_export_rows: int = Field(
        default=limits.MAX_EXPORT_ROWS,
        ge=1,
        description="Most incidents one CSV/GeoJSON export may hold; more is refused (413) "
        "before anything is streamed.",
    )
    max_polygon_vertices: int = Field(
        default=limits.MAX_POLYGON_VERTICES,
        ge=4,
        description="Most vertices one polygon feature may have, in imported files and in "
        "`POST /v1/assign/buildings`.",
    )
    max_archive_bytes: int = Field(
        default=limits.MAX_ARCHIVE_BYTES,
        ge=1,
        description="Largest total uncompressed size of an imported .zip (zip-bomb guard).",
    )
    max_archive_ratio: float = Field(
        default=limits.MAX_ARCHIVE_RATIO,
        gt=1,
        description="Largest compression ratio of a .zip member over 1 MiB (zip-bomb guard).",
    )
    geocode_batch_max: int = Field(
        default=limits.GEOCODE_BATCH_MAX,
        ge=1,
        description="Most addresses one geocoding batch may carry.",
    )
    statement_timeout_s: float = Field(
        default=limits.STATEMENT_TIMEOUT_S,
        ge=0,
        description="PostgreSQL statement_timeout of every API query (0: none); a query "
        "cancelled by it answers 503 with Retry-After.",
    )
    # --- reference data (tests and benchmarks) ---
    reference_data: Path = Field(
        default=Path("../shared/data"),
        description="Folder of the real Shanghai reference data (not in the repository) that "
        "the `reference_data` tests and the benchmarks read in place; a relative path starts at "
        "the project root. When it is missing, `make test` says so and runs everything else.",
    )

    # -- field work (issue 24): photos ---------------------------------------------------
    media_dir: Path | None = Field(
        default=None,
        description="Folder of incident photos (content-addressed files). Unset: "
        "`<home>/media`. Backed up with the database by `wangge backup`.",
    )
    photo_max_bytes: int = Field(
        default=15 * 1024 * 1024, ge=1024, description="Largest photo upload, in bytes."
    )
    photo_max_pixels: int = Field(
        default=50_000_000, ge=10_000, description="Most pixels (width × height) of a photo."
    )
    photo_keep_gps: bool = Field(
        default=False,
        description="Keep the EXIF GPS position in stored photos (default: removed; the "
        "capture time is always kept).",
    )

    def resolved_media_dir(self) -> Path:
        """The photo folder as an absolute path."""
        folder = self.media_dir if self.media_dir is not None else self.home / "media"
        return folder.expanduser().resolve()

    # --- patrols (issue 27) ---
    patrol_retention_days: int = Field(
        default=90,
        ge=1,
        description="Raw GPS fixes of a patrol are deleted this many days after it ended "
        "(`wangge patrols purge`); its visited buildings and totals stay.",
    )
    patrol_max_fixes: int = Field(
        default=200_000,
        ge=1,
        description="Most GPS fixes one patrol (an upload, or all batches of a phone patrol) "
        "may hold; a GPX or JSON upload with more is refused whole.",
    )

    # --- serving on several hosts (issue 28) ---
    database_replica_urls: str = Field(
        default="",
        description="Comma-separated SQLAlchemy URLs of streaming read replicas of the "
        "database. Stats, maps, tiles, OGC API and exports read from the first one that is "
        "up and within `replica_max_lag_seconds`; everything else, and the reads of a key "
        "that wrote recently, use the primary. Empty: the primary serves all.",
    )
    replica_max_lag_seconds: float = Field(
        default=5.0,
        ge=0,
        description="The most a replica may be behind the primary and still serve reads "
        "(seconds); answers read from one carry `X-Wangge-Replica-Lag`.",
    )
    rate_limit_sync_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often each API worker settles its per-key rate-limit spending with "
        "the shared buckets in PostgreSQL (so the limit holds across workers and hosts).",
    )

    def replica_urls(self) -> list[str]:
        """The configured replica URLs, in order."""
        return [u.strip() for u in self.database_replica_urls.split(",") if u.strip()]

    # --- events and webhooks (issue 26) ---
    webhook_deliver: bool = Field(
        default=True,
        description="Deliver webhooks from each API worker (database locks make exactly one "
        "worker deliver each event). Off: run `wangge events run` somewhere instead.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhook URLs resolve to loopback, private or link-local addresses "
        "(a receiver on the same host or network). Off: such URLs are refused (SSRF).",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Seconds a webhook receiver has to answer."
    )
    webhook_backoff_s: float = Field(
        default=1.0,
        gt=0,
        description="Delay before the first retry of a failed delivery, in seconds; it doubles "
        "with each further failure (with jitter) up to `webhook_backoff_max_s`.",
    )
    webhook_backoff_max_s: float = Field(
        default=600.0, gt=0, description="Longest delay between two delivery retries, seconds."
    )
    webhook_max_failures: int = Field(
        default=12,
        ge=1,
        description="Consecutive failed deliveries after which a subscription is paused (its "
        "undelivered events are kept: resume it, or `wangge events replay`).",
    )
    webhook_threads: int = Field(
        default=2, ge=1, le=32, description="Delivery threads per API worker."
    )
    events_poll_s: float = Field(
        default=2.0,
        gt=0,
        description="How often delivery looks for due retries without a notification, seconds.",
    )
    events_sweep_s: float = Field(
        default=30.0,
        gt=0,
        description="How often open incidents are checked for passing their due time (the "
        "`incident.overdue` events), seconds.",
    )

    def resolved_home(self) -> Path:
        """The managed-cluster folder as an absolute path."""
        return self.home.expanduser().resolve()
