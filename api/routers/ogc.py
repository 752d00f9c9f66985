"""``/ogc/…``: OGC API – Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS).

JSON for machines, HTML for browsers (``f=json|html`` or the ``Accept`` header). Every
handler calls one ``gis.features`` function and shapes its answer in ``api.ogc_views``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from api import ogc_html as h
from api import ogc_views as v
from api.deps import Conn, get_settings
from api.limits import PageLimit
from api.ogc_openapi import OPENAPI_30, ogc_openapi
from api.problems import HttpProblem, problem_responses
from api.responses import GeoJSONResponse
from api.schemas.incidents import TIME_PATTERN
from api.schemas.ogc import (
    CollectionInfo,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    LandingPage,
    Queryables,
)
from api.scope import CallerScope
from api.security import require
from gis.access.roles import Principal
from gis.errors import InvalidInput
from gis.features.catalog import get_collection, list_collections
from gis.features.crs import CGCS2000, CRS84, EPSG_URI
from gis.features.items import MAX_OFFSET, ItemsQuery, get_item, get_items
from gis.settings import Settings

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
AnyKey = Annotated[Principal, require(None)]
Reader = Annotated[Principal, require("areas:read")]


def may_read(caller: Principal, collection_id: str) -> None:
    """The incidents collection also needs the incidents:read permission."""
    if collection_id == "incidents" and not caller.can("incidents:read"):
        raise HttpProblem(403, f"the {caller.role} role may not read incidents", field="role")


Format = Annotated[
    Literal["json", "html"] | None,
    Query(description="json (GeoJSON/JSON) or html; default from the Accept header"),
]
CollectionId = Annotated[
    str, Path(alias="collectionId", description="e.g. micro_grid, buildings, facilities")
]
#: the CRS URIs every collection offers (the document lists these; a collection's `crs` list
#: may add its local projected CRS)
CRS_URIS: Final = [CRS84, EPSG_URI.format(code=4326), EPSG_URI.format(code=CGCS2000)]
CrsParam = Annotated[
    str | None,
    Query(
        description="Output CRS URI (see the collection's `crs` list); default CRS84",
        examples=["http://www.opengis.net/def/crs/EPSG/0/4490"],
        json_schema_extra={"enum": CRS_URIS},
    ),
]
DatetimeParam = Annotated[
    str | None,
    Query(
        description="RFC 3339 instant or interval (`a/b`, `../b`, `a/..`). Areas: the "
        "boundaries valid then; incidents: reported then",
        examples=["2026-03-31T00:00:00Z"],
    ),
]
#: on the collection lists ``datetime`` changes nothing; it is accepted because GDAL's OAPIF
#: driver sends the query of the dataset URL it was opened with to every request it makes
PassedDatetime = Annotated[
    str | None,
    Query(
        description="Accepted and ignored here (GDAL sends its dataset URL's `datetime` to "
        "every request); it selects boundaries on the items",
        examples=["2026-03-31T00:00:00Z"],
    ),
]
_ITEM_PARAMS: Final = {
    *("f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs"),
    *("filter", "filter-lang", "filter-crs", "sortby", "properties"),  # Part 3 (issue 26)
}
_GEOJSON_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "GeoJSON (or HTML with f=html)",
        "content": {
            "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}
_HTML_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


def _json_or_html(
    request: Request, f: str | None, doc: dict[str, Any], title: str, body: str
) -> Any:
    if v.wants_html(request, f):
        return HTMLResponse(h.page(title, [(f"{v.root(request)}/?f=html", "OGC API")], body))
    return JSONResponse(doc)


def to_landing(request: Request) -> RedirectResponse:
    """The API root sends clients to the OGC landing page (keeping ``f`` and the like)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{v.root(request)}/{query}", status_code=307)


@router.get(
    "/",
    response_model=LandingPage,
    summary="Landing page: links to the API description, conformance and collections",
    responses={**_HTML_200, **problem_responses(422)},
)
def landing(request: Request, caller: AnyKey, f: Format = None) -> Any:
    """Where everything is. Add this URL in QGIS as a "WFS / OGC API – Features" connection."""
    base = v.root(request)
    html = v.wants_html(request, f)
    doc: dict[str, Any] = {
        "title": "wangge OGC API – Features",
        "description": "The grid hierarchy (every level, with boundary history), buildings and "
        "service facilities of the street, for QGIS, ArcGIS and GDAL.",
        "links": [
            *v.self_links(request, html),
            v.link(f"{base}/api", "service-desc", OPENAPI_30, "API description (OpenAPI 3.0)"),
            v.link(f"{str(request.base_url).rstrip('/')}/docs", "service-doc", v.HTML, "API docs"),
            v.link(f"{base}/conformance", "conformance", v.JSON, "Conformance classes"),
            v.link(f"{base}/collections", "data", v.JSON, "Collections"),
        ],
    }
    body = f"<p>{doc['description']}</p>{h.link_list(doc['links'])}"
    return _json_or_html(request, f, doc, doc["title"], body)


@router.get(
    "/conformance",
    response_model=Conformance,
    summary="The conformance classes implemented",
    responses={**_HTML_200, **problem_responses(422)},
)
def conformance(request: Request, caller: AnyKey, f: Format = None) -> Any:
    """OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS) and the
    Part 3 queryables."""
    doc = {"conformsTo": list(v.CONFORMANCE)}
    body = "<ul>" + "".join(f"<li><code>{c}</code></li>" for c in v.CONFORMANCE) + "</ul>"
    return _json_or_html(request, f, doc, "Conformance", body)


@router.get(
    "/api",
    summary="This API described in OpenAPI 3.0",
    responses={200: {"content": {OPENAPI_30: {"schema": {"type": "object"}}}}},
)
def api_description(request: Request, caller: AnyKey) -> Any:
    """The OGC routes as an OpenAPI 3.0 document (what GDAL and QGIS read)."""
    return JSONResponse(ogc_openapi(request.app), media_type=OPENAPI_30)


@router.get(
    "/collections",
    response_model=Collections,
    summary="Every collection: one per area level present, buildings, facilities",
    responses={**_HTML_200, **problem_responses(422, 503)},
)
def collections(
    request: Request, caller: Reader, conn: Conn, f: Format = None, datetime: PassedDatetime = None
) -> Any:
    """Area levels of the current generation, largest first, then the registers."""
    found = [v.collection_doc(request, c) for c in list_collections(conn)]
    html = v.wants_html(request, f)
    doc = {"links": v.self_links(request, html), "collections": found}
    rows = [
        [
            f'<a href="{c["links"][1]["href"]}">{h.cell(c["id"])}</a>',
            h.cell(c["title"]),
            h.cell(c["description"]),
            f'<a href="{c["links"][3]["href"]}">features</a>',
        ]
        for c in found
    ]
    body = h.table(["id", "title", "description", ""], rows)
    return _json_or_html(request, f, doc, "Collections", body)


@router.get(
    "/collections/{collectionId}",
    response_model=CollectionInfo,
    summary="One collection: extent, CRSs, links to its items",
    responses={**_HTML_200, **problem_responses(404, 422, 503)},
)
def collection(
    request: Request,
    caller: Reader,
    conn: Conn,
    collection_id: CollectionId,
    f: Format = None,
    datetime: PassedDatetime = None,
) -> Any:
    """404 problem for an unknown collection."""
    doc = v.collection_doc(request, get_collection(conn, collection_id))
    if v.wants_html(request, f):
        return v.collection_html(request, doc)
    return JSONResponse(doc)


@router.get(
    "/collections/{collectionId}/queryables",
    response_model=Queryables,
    response_class=v.SchemaJSONResponse,
    summary="The properties usable as filters on the items (JSON Schema)",
    responses={**_HTML_200, **problem_responses(404, 422, 503)},
)
def collection_queryables(
    request: Request, caller: Reader, conn: Conn, collection_id: CollectionId, f: Format = None
) -> Any:
    """Each queryable ``name`` filters the items with ``?name=value`` (equality)."""
    doc = v.queryables_doc(request, get_collection(conn, collection_id, extents=False))
    if v.wants_html(request, f):
        rows = [
            [h.cell(k), h.cell(p.get("type", "geometry")), h.cell(p.get("title"))]
            for k, p in doc["properties"].items()
        ]
        return HTMLResponse(
            h.page(
                f"{doc['title']}: queryables",
                [(f"{v.root(request)}/?f=html", "OGC API")],
                h.table(["name", "type", "title"], rows),
            )
        )
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "schema+json" not in accept:
        return JSONResponse(doc)  # what GDAL's OAPIF driver accepts (issue 26)
    return v.SchemaJSONResponse(doc)


@router.get(
    "/collections/{collectionId}/items",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    summary="Features of a collection (paged GeoJSON, or HTML)",
    responses={**_GEOJSON_200, **problem_responses(404, 422, 503)},
)
def items(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    conn: Conn,
    collection_id: CollectionId,
    settings: Annotated[Settings, Depends(get_settings)],
    limit: PageLimit = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Features to skip")] = 0,
    bbox: Annotated[
        str | None,
        Query(
            description="lower-left, upper-right corner in `bbox-crs` (default CRS84: "
            "west,south,east,north)",
            examples=["121.39,31.24,121.41,31.26"],
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None,
        Query(
            alias="bbox-crs",
            description="CRS URI of `bbox` (default CRS84)",
            json_schema_extra={"enum": CRS_URIS},
        ),
    ] = None,
    datetime: DatetimeParam = None,
    crs: CrsParam = None,
    f: Format = None,
    filter: Annotated[
        str | None,
        Query(
            max_length=20_000,
            description="A CQL2 filter (OGC API – Features Part 3) on the queryables, e.g. "
            "`status IN ('assigned','in_progress') AND "
            "reported_at >= TIMESTAMP('2026-11-01T00:00:00Z')`",
        ),
    ] = None,
    filter_lang: Annotated[
        Literal["cql2-text", "cql2-json", "cql-text"],
        Query(
            alias="filter-lang",
            description="Language of `filter`; `cql-text` (the draft's name, which GDAL sends) "
            "is read as CQL2 text",
        ),
    ] = "cql2-text",
    filter_crs: Annotated[
        Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None,
        Query(alias="filter-crs", description="CRS of geometries in `filter` (CRS84 only)"),
    ] = None,
    sortby: Annotated[
        str | None,
        Query(max_length=1000, description="Comma list of properties, `-` for descending"),
    ] = None,
    properties: Annotated[
        str | None, Query(max_length=1000, description="Comma list of properties to serve")
    ] = None,
) -> Any:
    """Ordered by id (or `sortby`); follow the `next` link. Any queryable filters by equality
    (`?parent_code=310107016007`, `?status=reported`); `filter` takes CQL2 (docs/ogc-filter.md);
    other parameters are a 422."""
    filters = {k: val for k, val in request.query_params.items() if k not in _ITEM_PARAMS}
    query = ItemsQuery(
        limit,
        offset,
        bbox,
        bbox_crs,
        datetime,
        crs,
        filters,
        max_limit=settings.max_page_size,
        max_bbox_km2=settings.max_bbox_km2,
        filter=filter,
        filter_lang=filter_lang,
        sortby=sortby,
        properties=properties,
    )
    may_read(caller, collection_id)
    result = get_items(conn, collection_id, query, scope=scope)
    return v.items_response(
        request, result, limit=limit, offset=offset, html=v.wants_html(request, f)
    )


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    response_class=GeoJSONResponse,
    response_model=Feature,
    summary="One feature (GeoJSON, or HTML)",
    responses={**_HTML_200, **problem_responses(404, 422, 503)},
)
def item(
    request: Request,
    caller: Reader,
    scope: CallerScope,
    conn: Conn,
    collection_id: CollectionId,
    feature_id: Annotated[
        str, Path(alias="featureId", description="code; for areas also code@generation")
    ],
    crs: CrsParam = None,
    datetime: Annotated[
        str | None,
        Query(
            pattern=TIME_PATTERN.replace("[+ -]", "[+-]"),  # RFC 3339: no space offset
            description="An RFC 3339 instant: areas, the version valid then (404 if none)",
            examples=["2026-03-31T00:00:00Z"],
        ),
    ] = None,
    f: Format = None,
) -> Any:
    """Areas: the version current now (or at `datetime`); `code@N` names generation N's."""
    extra = set(request.query_params) - {"crs", "datetime", "f"}
    if extra:
        raise InvalidInput("unknown parameter", field=sorted(extra)[0])
    may_read(caller, collection_id)
    result = get_item(conn, collection_id, feature_id, crs=crs, datetime=datetime, scope=scope)
    return v.item_response(request, result, html=v.wants_html(request, f))
