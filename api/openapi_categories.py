"""The OpenAPI document names the stored incident categories as the allowed values of every
request field that takes one, so generated clients (and fuzzers) send real codes. The list is
read when the document is first built; a category imported later is accepted by the API
before the document is rebuilt by a restart."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from gis.incidents.categories import load_categories


def document_categories(app: FastAPI) -> None:
    """Wrap ``app.openapi`` to add the category enums (after ``install_openapi``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        doc = build()
        engine = getattr(app.state, "engine", None)
        if not fresh or engine is None:
            return doc
        try:
            with engine.connect() as conn:
                codes = sorted(load_categories(conn))
        except SQLAlchemyError:
            return doc  # the database is away: the document stays without the enums
        if not codes:
            return doc
        schemas = doc.get("components", {}).get("schemas", {})
        category = schemas.get("IncidentCreate", {}).get("properties", {}).get("category")
        if category is not None:
            category["enum"] = codes
        form = (
            doc.get("paths", {})
            .get("/open311/v2/requests.{fmt}", {})
            .get("post", {})
            .get("requestBody", {})
            .get("content", {})
            .get("application/x-www-form-urlencoded", {})
            .get("schema", {})
            .get("properties", {})
        )
        if "service_code" in form:
            form["service_code"]["enum"] = codes
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
