"""The demo street in a rolled-back transaction, and helpers to compare findings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from gis.coverage import CoverageReport, Finding
from gis.store.db import make_engine
from tests.conftest import rolled_back


@pytest.fixture(scope="session")
def demo_engine(demo_db: str) -> Iterator[Engine]:
    eng = make_engine(demo_db)
    yield eng
    eng.dispose()


@pytest.fixture
def demo(demo_engine: Engine) -> Iterator[Connection]:
    """A connection to the demo street inside a transaction rolled back after the test."""
    yield from rolled_back(demo_engine)


def key(f: Finding) -> tuple[str, str | None, tuple[str, ...], str | None]:
    """What identifies a finding (not its measure)."""
    return (f.check, f.area_code, tuple(f.other_codes), f.building_code)


def new_findings(before: CoverageReport, after: CoverageReport) -> list[Finding]:
    """Findings of ``after`` that ``before`` did not have."""
    old = {key(f) for f in before.findings}
    return [f for f in after.findings if key(f) not in old]
