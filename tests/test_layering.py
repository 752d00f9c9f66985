"""The layering rules, checked on the source: ``api → gis → gis.store`` and the layers inside
``gis``, as import-linter contracts for the whole import graph (pyproject.toml,
``[tool.importlinter]``; docs/architecture.md explains them). No domain error carries an HTTP
status."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

from gis import errors
from tests.conftest import ROOT


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter is not installed (make setup)"
    run = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0 and "0 broken" in run.stdout, run.stdout + run.stderr


def test_domain_errors_carry_no_http_status() -> None:
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) >= 5
    for cls in classes:
        assert not hasattr(cls, "status"), f"{cls.__name__} carries an HTTP status"
