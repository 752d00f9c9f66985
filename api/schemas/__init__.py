"""Pydantic models of every request and response: the OpenAPI document is the contract that
other systems generate clients from. Handlers build plain dicts for speed (100k-item batches)
and return them directly; the models describe them, and the schemathesis run in the test
suite checks that every answer conforms."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_BODY_MODELS: dict[str, Any] = {}


def body_schema(model: Any, name: str, *, example: Any = None) -> dict[str, Any]:
    """An ``openapi_extra`` request body described by ``model`` (a pydantic model or a union
    of models) for routes that read their body themselves (size limit, orjson, per-item
    errors). The model's schema is added to the document's components under ``name``."""
    _BODY_MODELS[name] = model
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{name}"}}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def install_openapi(app: FastAPI) -> None:
    """Build the OpenAPI document once, with the request-body models of ``body_schema``."""
    from pydantic import TypeAdapter

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _BODY_MODELS.items():
            schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[name] = schema
        _problem_422(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_422(doc: dict[str, Any]) -> None:
    """Every documented 422 is problem+json (``api.problems``), also where a route does not
    list it itself and FastAPI documents its own ``HTTPValidationError`` as
    ``application/json``. Open311 keeps its own error lists (JSON)."""
    from api.problems import OPEN311_PREFIX, PROBLEM_JSON, problem_responses

    documented = problem_responses(422)[422]
    for template, path in doc.get("paths", {}).items():
        if template.startswith(OPEN311_PREFIX):
            continue
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            answer = operation.get("responses", {}).get("422")
            if answer is not None and PROBLEM_JSON not in answer.get("content", {}):
                operation["responses"]["422"] = {
                    "description": documented["description"],
                    "content": documented["content"],
                }


class Link(BaseModel):
    """A link (OGC API style)."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None
