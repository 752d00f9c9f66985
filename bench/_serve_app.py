"""The API with one extra route for ``bench/serve.py``: ``GET /v1/assign-trivial``, a trivial
FastAPI endpoint with the same parameters as ``GET /v1/assign`` and a body of the same shape
and size, on the same app (same middleware, same server), but no key check, no rate limit and
no lookup. Served with ``uvicorn --factory --app-dir bench _serve_app:app``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse

from api.app import create_app
from api.routers.assign import FastJSONResponse
from gis.settings import Settings

BODY: dict[str, Any] = {
    "owner": {"code": "310104001", "name": "徐家汇街道", "level": "street"},
    "chain": [{"code": "310104001", "name": "徐家汇街道", "level": "street"}],
    "also_covered_by": [],
    "nearest": None,
    "ambiguous": False,
    "staff": [],
    "roster_stale": False,
    "level": "street",
    "generation": 1,
}


def app() -> Any:
    api = create_app(Settings())

    @api.get("/v1/assign-trivial", include_in_schema=False)
    async def trivial(
        lon: Annotated[float, Query()],
        lat: Annotated[float, Query()],
        crs: Annotated[str, Query(max_length=32)] = "wgs84",
        level: Annotated[str | None, Query()] = None,
    ) -> JSONResponse:
        return FastJSONResponse({**BODY, "input": {"lon": lon, "lat": lat, "crs": crs}})

    return api
