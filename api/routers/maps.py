"""``/maps/…``: the Folium pages (HTML), their vendored assets, and the API root."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import NoMatchFound

from api.deps import Conn, GenerationNumber, get_settings
from api.problems import problem_responses
from api.routers.heatmap import categories
from gis.heat.service import HeatQuery
from gis.maps import pages
from gis.maps.basemaps import basemap as pick_basemap
from gis.maps.page import STATIC_DIR, MapOptions
from gis.settings import Settings

router = APIRouter(tags=["maps"])
HTML: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An HTML page (Leaflet, assets served locally).",
        "content": {"text/html": {}},
    }
}
PROBLEMS = problem_responses(404, 422, 503)

Basemap = Annotated[
    str,
    Query(
        description="osm (default), tianditu (needs WANGGE_TIANDITU_KEY) or gcj02 "
        "(Amap-style tiles; overlays shifted into GCJ-02)"
    ),
]


def mount_static(app: FastAPI) -> None:
    """Serve the vendored Leaflet assets under /maps/static (pages work offline)."""
    app.mount("/maps/static", StaticFiles(directory=STATIC_DIR), name="maps-static")


def _geocoder(request: Request) -> str | None:
    """The geocoder's path when this app serves one (route named ``geocode``), else None."""
    try:
        return str(request.app.url_path_for("geocode"))
    except NoMatchFound:
        return None


def _options(request: Request, basemap: str, generation: int) -> MapOptions:
    settings: Settings = get_settings(request)
    return MapOptions(
        basemap=pick_basemap(basemap, tianditu_key=settings.tianditu_key),
        generation=generation,
        static_url="/maps/static",
        tiles_url="/tiles",
        inline_max=settings.map_inline_max_features,
        geocode_url=_geocoder(request),
    )


@router.get("/", summary="API root: where the maps, the OGC API and the docs are")
def root() -> dict[str, Any]:
    """Links to the map pages, the OGC API – Features landing page and the OpenAPI docs."""
    return {
        "name": "wangge",
        "maps": "/maps/",
        "ogc": "/ogc/",
        "docs": "/docs",
        "openapi": "/openapi.json",
    }


@router.get(
    "/maps/",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Index of the map pages",
)
def index(conn: Conn, generation: GenerationNumber) -> HTMLResponse:
    return HTMLResponse(pages.index(conn, generation=generation))


@router.get(
    "/maps/overview",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Overview: hierarchy layers, buildings, search, legend, scale",
)
def overview(
    request: Request, conn: Conn, generation: GenerationNumber, basemap: Basemap = "osm"
) -> HTMLResponse:
    return HTMLResponse(pages.overview(conn, _options(request, basemap, generation)))


@router.get(
    "/maps/heat",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Heat: incidents as heat and H3 hexagons with Gi* hotspots outlined",
)
def heat(
    request: Request,
    conn: Conn,
    generation: GenerationNumber,
    basemap: Basemap = "osm",
    res: Annotated[int, Query(ge=5, le=12, description="H3 resolution")] = 9,
    start: Annotated[
        datetime | None, Query(alias="from", description="reported at or after")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="reported before")] = None,
    category: Annotated[str | None, Query(description="comma-separated categories")] = None,
    normalize: Annotated[str | None, Query(description="households: per 1,000 households")] = None,
    confidence: Annotated[int, Query(ge=90, le=99, description="90, 95 or 99 (%)")] = 95,
) -> HTMLResponse:
    query = HeatQuery(
        res=res,
        start=start,
        end=end,
        categories=categories(category),
        normalize=normalize,
        confidence=confidence,
    )
    return HTMLResponse(pages.heat(conn, _options(request, basemap, generation), query))


@router.get(
    "/maps/coverage",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Coverage findings by severity",
)
def coverage(
    request: Request, conn: Conn, generation: GenerationNumber, basemap: Basemap = "osm"
) -> HTMLResponse:
    return HTMLResponse(pages.coverage(conn, _options(request, basemap, generation)))


@router.get(
    "/maps/grid/{code}",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="My grid: one micro-grid for a phone",
)
def grid(
    request: Request, code: str, conn: Conn, generation: GenerationNumber, basemap: Basemap = "osm"
) -> HTMLResponse:
    return HTMLResponse(pages.grid(conn, _options(request, basemap, generation), code))


@router.get(
    "/maps/incident/{incident_id}",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="One incident: location, owner area, timeline",
)
def incident(
    request: Request,
    incident_id: str,
    conn: Conn,
    generation: GenerationNumber,
    basemap: Basemap = "osm",
) -> HTMLResponse:
    return HTMLResponse(pages.incident(conn, _options(request, basemap, generation), incident_id))
