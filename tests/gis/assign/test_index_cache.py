"""The assignment index cache: keyed by data version (no stale answers for the generation
being imported into) and safe under concurrent requests with evictions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.assign import service
from gis.assign.service import Assigner, assign_point
from gis.store.db import make_engine
from tests.fixtures import HALF, SIDE, X0, Y0, area_collection, load_small_street, rect

SOUTH = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}  # in M2 as first drawn


@pytest.fixture
def small(new_database: Callable[[], str], tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(new_database())
    load_small_street(engine, tmp_path)
    yield engine
    engine.dispose()


def import_micro_grids(engine: Engine, path: Path, *, m1_east: float) -> None:
    """Import the micro-grid level into the open generation, M1 reaching ``m1_east``."""
    x1, ym = X0 + SIDE, Y0 + HALF
    rows = [
        ("M1", "M1", "G1", rect(X0, Y0, m1_east, ym)),
        ("M3", "M3", "G1", rect(X0, ym, X0 + HALF, Y0 + SIDE)),
        ("M4", "M4", "G2", rect(X0 + HALF, ym, x1, Y0 + SIDE)),
    ]
    if m1_east < x1:
        rows.append(("M2", "M2", "G2", rect(m1_east, Y0, x1, ym)))
    area_collection(path, rows)
    with engine.begin() as conn:
        import_areas(
            conn,
            read_area_file(path, code_field="code", name_field="name", parent_field="parent_code"),
            level="micro_grid",
        )


def test_open_generation_answers_follow_each_import(small: Engine, tmp_path: Path) -> None:
    assigner = Assigner(small, check_seconds=0.0)
    assert assign_point(assigner, **SOUTH)["owner"]["code"] == "M2"
    import_micro_grids(small, tmp_path / "a.geojson", m1_east=X0 + SIDE)  # M1 takes the south
    assert assign_point(assigner, **SOUTH, generation=2)["owner"]["code"] == "M1"
    # a second import into the same, still open generation gives M2 back its land
    import_micro_grids(small, tmp_path / "b.geojson", m1_east=X0 + HALF)
    assert assign_point(assigner, **SOUTH, generation=2)["owner"]["code"] == "M2"
    # the current generation was never touched
    assert assign_point(assigner, **SOUTH)["generation"] == 1


def test_concurrent_requests_with_evictions(small: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CACHE_SIZE", 1)  # every other request evicts
    assigner = Assigner(small, check_seconds=0.0)
    expected = {"micro_grid": "M1", "grid": "G1", "street": "S"}
    point = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
    failures: list[BaseException] = []
    wrong: list[str] = []

    def work(offset: int) -> None:
        try:
            for i in range(60):
                level = list(expected)[(i + offset) % 3]
                code = assign_point(assigner, **point, level=level)["owner"]["code"]
                if code != expected[level]:
                    wrong.append(f"{level}: {code}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and wrong == []
    assert len(assigner.cached_keys()) == 1


def test_the_default_level_and_micro_grid_share_one_index(small: Engine) -> None:
    # a worker must not hold two copies of its biggest index (one per way of naming it)
    assigner = Assigner(small, check_seconds=0.0)
    generation = assigner.current_generation()
    default = assigner.index(generation=generation)
    assert default.level == "micro_grid"
    assert assigner.index(generation=generation, level="micro_grid") is default
    other = Assigner(small, check_seconds=0.0)
    named = other.index(generation=generation, level="micro_grid")
    assert other.index(generation=generation) is named
    # another level is its own index
    assert other.index(generation=generation, level="grid") is not named
