"""The layering rule, checked on the source: ``api → gis → gis.store``. Nothing under ``gis``
imports ``api`` or the web framework, and no domain error carries an HTTP status."""

from __future__ import annotations

import ast
import inspect

import pytest

from gis import errors
from tests.conftest import ROOT

FORBIDDEN = ("api", "fastapi", "starlette", "uvicorn")


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "gis").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_gis_never_imports_the_web_layer(path: object) -> None:
    assert hasattr(path, "read_text")
    found = {
        name
        for name in imported_modules(path.read_text())  # type: ignore[attr-defined]
        if name.split(".")[0] in FORBIDDEN
    }
    assert not found, f"{path} imports {sorted(found)}"


def test_domain_errors_carry_no_http_status() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) >= 5
    for cls in classes:
        assert not hasattr(cls, "status"), f"{cls.__name__} carries an HTTP status"
