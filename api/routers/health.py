"""``GET /healthz``: is the database reachable, which generation is current."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from api.deps import get_engine
from gis.areas.generations import current_generation

router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Health: database reachable and current generation")
def healthz(engine: Annotated[Engine, Depends(get_engine)]) -> Any:
    """200 with the current boundary generation, or 503 when the database is unreachable."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            generation = current_generation(conn)
    except Exception as exc:  # any driver error means "not healthy"
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "detail": str(exc).splitlines()[0],
            },
            status_code=503,
        )
    return {"status": "ok", "database": "ok", "postgis": postgis, "generation": generation}
