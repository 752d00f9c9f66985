"""Response classes, and the paging links every GeoJSON list shares."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """JSON with the GeoJSON media type (RFC 7946)."""

    media_type = "application/geo+json"


class FastGeoJSONResponse(GeoJSONResponse):
    """GeoJSON rendered by orjson (a few times faster than json for one feature): for hot
    single-object answers whose content is plain JSON (str keys, finite numbers)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def page_links(
    request: Request, *, offset: int, limit: int, returned: int, matched: int
) -> list[dict[str, Any]]:
    """``self``, and ``next`` / ``prev`` where there are more features after / before this
    page, as links to the same request with another ``offset``."""

    def link(rel: str, href: str) -> dict[str, Any]:
        return {"rel": rel, "type": "application/geo+json", "href": href}

    links = [link("self", str(request.url))]
    if offset + returned < matched:
        links.append(link("next", str(request.url.include_query_params(offset=offset + limit))))
    if offset > 0:
        previous = max(0, offset - limit)
        links.append(link("prev", str(request.url.include_query_params(offset=previous))))
    return links
