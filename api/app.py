"""The FastAPI application factory. Nothing happens at import: ``create_app(settings)``
builds the app, and its lifespan creates the database engine."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import error_pages, fastlane, limits, problems, ratelimits, replicas, security
from api.openapi_categories import document_categories
from api.routers import access, areas, assign, coverage, geocode, health, heatmap, maps, tiles
from api.routers import events as event_routes
from api.routers import field as field_routes
from api.routers import incidents as incident_routes
from api.routers import ogc as ogc_router
from api.routers import open311 as open311_routes
from api.routers import patrols as patrol_routes
from api.routers import photos as photo_routes
from api.schemas import install_openapi
from gis.assign.service import Assigner, assign_point
from gis.errors import NotFound, Unavailable
from gis.events.delivery import Deliverer, DeliveryConfig
from gis.geocode.cache import GazetteerCache
from gis.incidents.intake import IntakeContext
from gis.incidents.locating import gazetteer_resolver
from gis.incidents.worktime import WorkCalendar
from gis.security.keys import KeyVerifier
from gis.settings import Settings
from gis.store.db import database_url, make_engine

DESCRIPTION = """
wangge (网格) serves the grid hierarchy of a street (district → street → community → grid →
micro-grid → block → corridor) with boundary history.

* Every request needs an API key in `X-API-Key` (or `Authorization: Bearer`): `wangge keys
  create --role official`. In a browser, [sign in](/signin) once. What a key may do depends on
  its role; a key scoped to an area sees that area and its descendants only.
* Coordinates are `lon, lat` (GeoJSON order), WGS-84 in every response.
* Errors are `application/problem+json` (RFC 9457) naming the bad `field`; 503 with
  `Retry-After` while the database is unreachable (assignment keeps answering from memory).
* Lists page with `limit`/`offset` and a `next` link; `generation` or `as_of` reads history.
* GIS desktops (QGIS, ArcGIS, GDAL): OGC API – Features at [`/ogc/`](/ogc/).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: from the environment)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            database_url(settings), statement_timeout_s=settings.statement_timeout_s
        )
        app.state.engine = engine
        app.state.keys = KeyVerifier(engine, check_seconds=settings.index_check_seconds)
        app.state.assigner = Assigner(engine, check_seconds=settings.index_check_seconds)
        # nothing imported yet, or the database is away: build on first request
        with contextlib.suppress(NotFound, Unavailable):
            app.state.assigner.warm()
            # assignscale: answer one point end to end (poll, index, staff roster, answer) so
            # the first real request finds everything loaded
            assigner = app.state.assigner
            level_index = assigner.index(generation=assigner.current_generation())
            spot = level_index.index.geometries[0].representative_point()
            assign_point(assigner, lon=spot.x, lat=spot.y)
        app.state.gazetteer = GazetteerCache(engine, check_seconds=settings.index_check_seconds)
        # build before the first request (and before gc.freeze); like the assigner, a database
        # away at start must not stop the API from starting: then it is built on first use
        with contextlib.suppress(Unavailable):
            app.state.gazetteer.get()
        # incidents: intake shares the assigner and the gazetteer; calendar per process
        app.state.intake = IntakeContext(
            app.state.assigner,
            WorkCalendar.from_settings(settings),
            gazetteer_resolver(app.state.gazetteer),
            max_batch=settings.incident_batch_max,
        )
        # the index and its answer templates live as long as the process: keep them out of
        # the collector's full passes, which otherwise stall every request for ~0.1 s
        gc.collect()
        gc.freeze()
        # events (issue 26): this worker's webhook deliverers (locks share the work out)
        app.state.deliverer = None
        if settings.webhook_deliver:
            app.state.deliverer = Deliverer(
                engine,
                DeliveryConfig.from_settings(settings),
                threads=settings.webhook_threads,
                poll_s=settings.events_poll_s,
                sweep_s=settings.events_sweep_s,
            )
            app.state.deliverer.start()
        try:
            yield
        finally:
            if app.state.deliverer is not None:
                app.state.deliverer.stop()
            engine.dispose()

    app = FastAPI(title="wangge", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)
    error_pages.install(app)  # issue 24: problems as pages for browsers (by Accept)
    security.install(app, settings)
    ratelimits.install(app, settings)  # issue 28: per-key limits across workers and hosts
    install_openapi(app)
    document_categories(app)  # incidents: stored category codes as enums
    security.document(app)  # 401/403/429 on every operation that needs a key
    app.include_router(health.router)
    app.include_router(access.router)  # sign-in, /v1/me, /v1/audit
    app.include_router(field_routes.router)  # issue 24: session token, field pages
    app.include_router(photo_routes.router)  # issue 24: incident photos
    app.include_router(areas.router)
    app.include_router(assign.router)
    app.include_router(incident_routes.router)
    app.include_router(open311_routes.router)
    app.include_router(event_routes.router)  # issue 26: events and webhooks
    app.include_router(geocode.router)
    app.include_router(coverage.router)
    app.include_router(patrol_routes.router)  # patrols (issue 27)
    app.include_router(patrol_routes.pages)
    # OGC API – Features: the API root points there
    app.include_router(ogc_router.router)
    # maps (issue 15): pages, their static assets, vector tiles, the heatmap, the root
    app.include_router(maps.router)
    app.include_router(tiles.router)
    app.include_router(heatmap.router)
    maps.install(app)
    fastlane.install(app)  # issue 28: GET /v1/assign's plain requests; innermost middleware
    replicas.install(app, settings)  # issue 28: heavy reads from replicas, own writes seen
    limits.install(app, settings)  # issue 16: body size, NUL bytes, page size in the document
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:app_from_env``."""
    return create_app(Settings())
