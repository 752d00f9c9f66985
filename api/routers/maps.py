"""``/maps/…``: the Folium pages (HTML), their vendored assets, and the API root (the phone
pages, "my work" and the incident page, live in :mod:`api.routers.field`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Connection
from starlette.routing import NoMatchFound

from api.deps import Conn, GenerationNumber, get_settings
from api.problems import problem_responses
from api.routers.heatmap import HeatFilters
from api.schemas.maps import RootLinks
from api.scope import CallerScope
from api.security import require
from gis.access import Scope
from gis.access.roles import Principal
from gis.maps import pages
from gis.maps.basemaps import basemap as pick_basemap
from gis.maps.cache import PageCache
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
Viewer = Annotated[Principal, require("maps")]

Basemap = Annotated[
    str,
    Query(
        description="osm (default), tianditu (needs WANGGE_TIANDITU_KEY) or gcj02 "
        "(Amap-style tiles; overlays shifted into GCJ-02)"
    ),
]


def install(app: FastAPI) -> None:
    """Serve the vendored Leaflet assets under /maps/static (pages work offline) and keep
    built pages until their data changes."""
    app.mount("/maps/static", StaticFiles(directory=STATIC_DIR), name="maps-static")
    app.state.map_pages = PageCache()


def _page(
    request: Request, caller: Principal, conn: Connection, build: Callable[[], str]
) -> HTMLResponse:
    """The page for this request: cached while the data it shows is unchanged (one copy per
    scope, and one for anonymous visitors, who see staff phones masked)."""
    cache: PageCache = request.app.state.map_pages
    key = (request.url.path, request.url.query, caller.key_id, caller.role)  # role: links
    return HTMLResponse(cache.page(conn, key, build))


def _geocoder(request: Request) -> str | None:
    """The geocoder's path when this app serves one (route named ``geocode``), else None."""
    try:
        return str(request.app.url_path_for("geocode"))
    except NoMatchFound:
        return None


def _options(
    request: Request, caller: Principal, scope: Scope, basemap: str, generation: int
) -> MapOptions:
    settings: Settings = get_settings(request)
    return MapOptions(
        basemap=pick_basemap(basemap, tianditu_key=settings.tianditu_key),
        generation=generation,
        static_url="/maps/static",
        tiles_url="/tiles",
        inline_max=settings.map_inline_max_features,
        geocode_url=_geocoder(request) if caller.can("geocode") else None,
        scope=scope,
        mask_staff_phones=caller.role == "anonymous",
        show_incidents=caller.can("incidents:read"),
    )


def _hidden(caller: Principal) -> frozenset[str]:
    """The index's pages this caller's role cannot open (issue 24: no link to a refusal)."""
    hidden = {"coverage"} if not caller.can("coverage") else set()
    if not caller.can("incidents:read"):
        hidden |= {"work", "heat"}
    return frozenset(hidden)


@router.get(
    "/", response_model=RootLinks, summary="API root: where the maps, the OGC API and the docs are"
)
def root() -> RootLinks:
    """Links to the map pages, the OGC API – Features landing page and the OpenAPI docs."""
    return RootLinks(
        name="wangge", maps="/maps/", ogc="/ogc/", docs="/docs", openapi="/openapi.json"
    )


@router.get(
    "/maps/",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Index of the map pages",
)
def index(
    request: Request, caller: Viewer, scope: CallerScope, conn: Conn, generation: GenerationNumber
) -> HTMLResponse:
    return _page(
        request,
        caller,
        conn,
        lambda: pages.index(conn, generation=generation, scope=scope, hide=_hidden(caller)),
    )


@router.get(
    "/maps/overview",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Overview: hierarchy layers, buildings, search, legend, scale",
)
def overview(
    request: Request,
    caller: Viewer,
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
    basemap: Basemap = "osm",
) -> HTMLResponse:
    opts = _options(request, caller, scope, basemap, generation)
    return _page(request, caller, conn, lambda: pages.overview(conn, opts))


@router.get(
    "/maps/heat",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Heat: incidents as heat and H3 hexagons with Gi* hotspots outlined",
)
def heat(
    request: Request,
    caller: Viewer,
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
    filters: HeatFilters,
    basemap: Basemap = "osm",
    res: Annotated[int, Query(ge=5, le=12, description="H3 resolution")] = 9,
) -> HTMLResponse:
    query = replace(filters, res=res)
    opts = _options(request, caller, scope, basemap, generation)
    return _page(request, caller, conn, lambda: pages.heat(conn, opts, query))


@router.get(
    "/maps/coverage",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="Coverage findings by severity",
)
def coverage(
    request: Request,
    caller: Annotated[Principal, require("coverage")],
    scope: CallerScope,
    conn: Conn,
    generation: GenerationNumber,
    basemap: Basemap = "osm",
) -> HTMLResponse:
    opts = _options(request, caller, scope, basemap, generation)
    return _page(request, caller, conn, lambda: pages.coverage(conn, opts))


@router.get(
    "/maps/grid/{code}",
    response_class=HTMLResponse,
    responses=HTML | PROBLEMS,
    summary="My grid: one micro-grid for a phone",
)
def grid(
    request: Request,
    caller: Viewer,
    scope: CallerScope,
    code: str,
    conn: Conn,
    generation: GenerationNumber,
    basemap: Basemap = "osm",
) -> HTMLResponse:
    opts = _options(request, caller, scope, basemap, generation)
    return _page(request, caller, conn, lambda: pages.grid(conn, opts, code))
