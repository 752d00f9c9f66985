"""The OGC part of the API described in OpenAPI 3.0 (the OGC ``oas30`` conformance class,
and what GDAL and QGIS read). FastAPI writes OpenAPI 3.1; the few 3.1-only constructs it
uses are rewritten to their 3.0 spelling."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


#: JSON Schema keywords OpenAPI 3.0 does not know (they only narrow what is valid).
_ONLY_31 = ("dependentRequired", "dependentSchemas", "prefixItems", "unevaluatedProperties")


def _to_30(node: Any) -> Any:
    """Rewrite one schema tree from OpenAPI 3.1 (JSON Schema 2020-12) to OpenAPI 3.0."""
    if isinstance(node, list):
        return [_to_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out.update(rest[0])
            elif len(rest) == 1:
                out["allOf"] = rest
            else:
                out[key] = rest
            out["nullable"] = True
    if out.get("type") == "null":
        del out["type"]
        out["nullable"] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        out["type"] = types[0] if types else "string"
        if "null" in node["type"]:
            out["nullable"] = True
    if "examples" in out and isinstance(out["examples"], list) and "properties" not in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for keyword in _ONLY_31:
        out.pop(keyword, None)
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[flag] = out[bound]
            out[bound] = True
    return out


def ogc_openapi(app: FastAPI, prefix: str = "/ogc") -> dict[str, Any]:
    """The OpenAPI 3.0 document of the routes under ``prefix`` (with the components they use),
    built once per app (routes do not change after start-up)."""
    cached: dict[str, Any] | None = getattr(app.state, "ogc_openapi", None)
    if cached is None:
        cached = app.state.ogc_openapi = _build(app, prefix)
    return cached


def _build(app: FastAPI, prefix: str) -> dict[str, Any]:
    doc = copy.deepcopy(app.openapi())
    # paths relative to the server URL ``prefix``, as clients resolve them: GDAL looks up
    # "/collections/{collectionId}/items" to learn the item parameters (filter-lang, limit)
    paths = {
        p.removeprefix(prefix) or "/": item
        for p, item in doc["paths"].items()
        if p.startswith(prefix)
    }
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = _to_30(parameter["schema"])
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _to_30(media["schema"])
    components = doc.get("components", {})
    if "schemas" in components:
        used = _referenced(paths, components["schemas"])
        components["schemas"] = {
            k: _to_30(v) for k, v in components["schemas"].items() if k in used
        }
    return {
        "openapi": "3.0.3",
        "info": {**doc["info"], "title": f"{doc['info']['title']} – OGC API – Features"},
        "servers": [{"url": prefix}],
        "paths": paths,
        "components": components,
    }


def _referenced(root: Any, schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas ``root`` refers to, directly or through each other (the
    OGC document describes the OGC routes only, not the rest of the API)."""
    found: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found and name in schemas:
                    found.add(name)
                    stack.append(schemas[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
