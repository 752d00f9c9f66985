"""The FastAPI application factory. Nothing happens at import: ``create_app(settings)``
builds the app, and its lifespan creates the database engine."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import problems
from api.routers import areas, assign, health
from gis.assign.service import Assigner, assign_point
from gis.errors import NotFound
from gis.settings import Settings
from gis.store.db import database_url, make_engine

DESCRIPTION = """
wangge (网格) serves the grid hierarchy of a street (district → street → community → grid →
micro-grid → block → corridor) with boundary history.

* Coordinates are `lon, lat` (GeoJSON order), WGS-84 in every response.
* Errors are `application/problem+json` (RFC 9457) naming the bad `field`.
* Lists page with `limit`/`offset` and a `next` link; `generation` or `as_of` reads history.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: from the environment)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url(settings))
        app.state.engine = engine
        app.state.assigner = Assigner(engine, check_seconds=settings.index_check_seconds)
        with contextlib.suppress(NotFound):  # nothing imported yet: build on first request
            app.state.assigner.warm()
            # assignscale: answer one point end to end (poll, index, staff roster, answer) so
            # the first real request finds everything loaded
            assigner = app.state.assigner
            level_index = assigner.index(generation=assigner.current_generation())
            spot = level_index.index.geometries[0].representative_point()
            assign_point(assigner, lon=spot.x, lat=spot.y)
        # the index and its answer templates live as long as the process: keep them out of
        # the collector's full passes, which otherwise stall every request for ~0.1 s
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="wangge", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)
    app.include_router(health.router)
    app.include_router(areas.router)
    app.include_router(assign.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:app_from_env``."""
    return create_app(Settings())
