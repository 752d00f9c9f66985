"""Shaping OGC API – Features answers: links, collection documents, JSON or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from api import ogc_html as h
from api.responses import GeoJSONResponse
from gis.features.catalog import Collection, queryables
from gis.features.items import ItemsPage

GEOJSON: Final = "application/geo+json"
JSON: Final = "application/json"
HTML: Final = "text/html"
SCHEMA_JSON: Final = "application/schema+json"
QUERYABLES_REL: Final = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

OGC: Final = "http://www.opengis.net/spec/"
CONFORMANCE: Final = (
    f"{OGC}ogcapi-features-1/1.0/conf/core",
    f"{OGC}ogcapi-features-1/1.0/conf/geojson",
    f"{OGC}ogcapi-features-1/1.0/conf/html",
    f"{OGC}ogcapi-features-1/1.0/conf/oas30",
    f"{OGC}ogcapi-features-2/1.0/conf/crs",
    f"{OGC}ogcapi-features-3/1.0/conf/queryables",
    f"{OGC}ogcapi-features-3/1.0/conf/queryables-query-parameters",
    # Part 3 filtering and CQL2 (issue 26)
    f"{OGC}ogcapi-features-3/1.0/conf/filter",
    f"{OGC}ogcapi-features-3/1.0/conf/features-filter",
    f"{OGC}cql2/1.0/conf/cql2-text",
    f"{OGC}cql2/1.0/conf/cql2-json",
    f"{OGC}cql2/1.0/conf/basic-cql2",
    f"{OGC}cql2/1.0/conf/advanced-comparison-operators",
    f"{OGC}cql2/1.0/conf/basic-spatial-functions",
)


class SchemaJSONResponse(JSONResponse):
    """JSON Schema documents (queryables)."""

    media_type = SCHEMA_JSON


def wants_html(request: Request, f: str | None) -> bool:
    """HTML when ``f=html``, or without ``f`` when the client prefers text/html (browsers)."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html_at, json_at = accept.find(HTML), accept.find("json")
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


def root(request: Request) -> str:
    """The absolute URL of the OGC API root, without a trailing slash."""
    return str(request.base_url).rstrip("/") + "/ogc"


def link(href: str, rel: str, type_: str | None = None, title: str | None = None) -> dict[str, Any]:
    """One link object (None members left out)."""
    out: dict[str, Any] = {"href": href, "rel": rel}
    if type_:
        out["type"] = type_
    if title:
        out["title"] = title
    return out


def self_links(request: Request, html: bool, json_type: str = JSON) -> list[dict[str, Any]]:
    """``self`` and ``alternate`` links to this resource in JSON and HTML."""
    as_json = str(request.url.include_query_params(f="json"))
    as_html = str(request.url.include_query_params(f="html"))
    return [
        link(as_html if html else as_json, "self", HTML if html else json_type),
        link(as_json if html else as_html, "alternate", json_type if html else HTML),
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def collection_doc(request: Request, collection: Collection) -> dict[str, Any]:
    """The JSON description of one collection, with links to its items and queryables."""
    base = f"{root(request)}/collections/{collection.id}"
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [c.uri for c in collection.crs],
        "storageCrs": collection.crs[0].uri,
        "links": [
            link(base, "self", JSON, collection.title),
            link(f"{base}?f=html", "alternate", HTML, collection.title),
            link(f"{base}/items", "items", GEOJSON, f"{collection.title}: features"),
            link(f"{base}/items?f=html", "items", HTML, f"{collection.title}: features"),
            link(f"{base}/queryables", QUERYABLES_REL, SCHEMA_JSON, "Queryables"),
            # the plain rel is what GDAL's OAPIF driver looks for (issue 26)
            link(f"{base}/queryables", "queryables", SCHEMA_JSON, "Queryables"),
        ],
    }
    if collection.extent is not None:
        doc["extent"] = {"spatial": {"bbox": [list(collection.extent)], "crs": doc["storageCrs"]}}
        if collection.time_extent is not None:
            start, end = collection.time_extent
            doc["extent"]["temporal"] = {
                "interval": [[_iso(start), _iso(end)]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }
    return doc


def collection_html(request: Request, doc: dict[str, Any]) -> HTMLResponse:
    """One collection for a browser."""
    extent = doc.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    body = (
        f"<p>{escape(doc['description'] or '')}</p>"
        f"<p>Extent (CRS84): {escape(', '.join(f'{v:.5f}' for v in extent))}</p>"
        f"<h2>Coordinate reference systems</h2><ul>"
        + "".join(f"<li><code>{escape(c)}</code></li>" for c in doc["crs"])
        + "</ul><h2>Links</h2>"
        + h.link_list(doc["links"])
    )
    crumbs = [
        (f"{root(request)}/?f=html", "OGC API"),
        (f"{root(request)}/collections?f=html", "Collections"),
    ]
    return HTMLResponse(h.page(doc["title"], crumbs, body))


def queryables_doc(request: Request, collection: Collection) -> dict[str, Any]:
    """The JSON Schema of a collection's queryables (and, for GDAL's OAPIF driver, which
    reads the Part 3 draft's shape, the same names as ``queryables: [{id}]``)."""
    properties = queryables(collection)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{root(request)}/collections/{collection.id}/queryables",
        "type": "object",
        "title": collection.title,
        "properties": properties,
        "additionalProperties": False,
        "queryables": [{"id": name} for name in properties if name != "geometry"],
    }


def items_response(
    request: Request, result: ItemsPage, *, limit: int, offset: int, html: bool
) -> Any:
    """A page of items as GeoJSON (``Content-Crs`` set) or HTML, with paging links."""
    page = result.page
    links = self_links(request, html, GEOJSON)
    if offset + len(page.features) < page.number_matched:
        url = request.url.include_query_params(offset=offset + limit, f="html" if html else "json")
        links.append(link(str(url), "next", HTML if html else GEOJSON, "next page"))
    if offset > 0:
        url = request.url.include_query_params(
            offset=max(0, offset - limit), f="html" if html else "json"
        )
        links.append(link(str(url), "prev", HTML if html else GEOJSON, "previous page"))
    base = f"{root(request)}/collections/{result.collection.id}"
    links.append(link(base, "collection", JSON, result.collection.title))
    headers = {"Content-Crs": f"<{result.crs.uri}>"}
    if html:
        return HTMLResponse(_items_html(request, result, links), headers=headers)
    body = {
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": len(page.features),
        "timeStamp": _iso(datetime.now(UTC)),
        "links": links,
        "features": page.features,
    }
    return GeoJSONResponse(body, headers=headers)


def _items_html(request: Request, result: ItemsPage, links: list[dict[str, Any]]) -> str:
    page, collection = result.page, result.collection
    names = [p.name for p in collection.source.props]
    base = f"{root(request)}/collections/{collection.id}/items"
    rows = [
        [f'<a href="{escape(base)}/{escape(str(f["id"]))}?f=html">{escape(str(f["id"]))}</a>']
        + [h.cell(f["properties"].get(n)) for n in names]
        for f in page.features
    ]
    body = (
        f"<p>{len(page.features)} of {page.number_matched} features.</p>"
        + h.sketch(page.features)
        + h.table(["id", *names], rows)
        + "<h2>Links</h2>"
        + h.link_list(links)
    )
    crumbs = [
        (f"{root(request)}/?f=html", "OGC API"),
        (f"{root(request)}/collections?f=html", "Collections"),
        (f"{root(request)}/collections/{collection.id}?f=html", collection.title),
    ]
    return h.page(f"{collection.title}: features", crumbs, body)


def item_response(request: Request, result: ItemsPage, *, html: bool) -> Any:
    """One feature as GeoJSON (``Content-Crs`` set) or HTML."""
    feature = dict(result.page.features[0])
    base = f"{root(request)}/collections/{result.collection.id}"
    feature["links"] = [
        *self_links(request, html, GEOJSON),
        link(base, "collection", JSON, result.collection.title),
    ]
    headers = {"Content-Crs": f"<{result.crs.uri}>"}
    if not html:
        return GeoJSONResponse(feature, headers=headers)
    rows = [[escape(k), h.cell(v)] for k, v in feature["properties"].items()]
    body = (
        h.sketch([feature]) + h.table(["property", "value"], rows) + h.link_list(feature["links"])
    )
    crumbs = [
        (f"{root(request)}/?f=html", "OGC API"),
        (f"{root(request)}/collections?f=html", "Collections"),
        (f"{base}?f=html", result.collection.title),
        (f"{base}/items?f=html", "Features"),
    ]
    return HTMLResponse(h.page(str(feature["id"]), crumbs, body), headers=headers)
