"""``GET /healthz``: is the database reachable, which generation is current."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Engine, text

from api.deps import get_engine
from api.problems import problem, problem_responses
from api.schemas.health import Health
from gis.areas.generations import current_generation
from gis.errors import Unavailable
from gis.store.db import UNREACHABLE, database_errors

router = APIRouter(tags=["service"])


@router.get(
    "/healthz",
    response_model=Health,
    responses=problem_responses(503),
    summary="Health: database reachable and current generation",
)
def healthz(engine: Annotated[Engine, Depends(get_engine)]) -> Any:
    """200 with the PostGIS version and current boundary generation; 503 problem+json with
    ``Retry-After`` when the database is unreachable (no connection details are shown)."""
    try:
        with database_errors(), engine.connect() as conn:
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            generation = current_generation(conn)
    except Unavailable:
        return problem(
            503, "Service unavailable", UNREACHABLE, field="database", instance="/healthz"
        )
    return {"status": "ok", "database": "ok", "postgis": postgis, "generation": generation}
