"""The access rules, once per resource kind, through their one owner (:class:`gis.access.Scope`):
areas below the scope, incidents owned below it (by the stored chain, never by their point),
buildings and facilities inside its boundary, the public gazetteer, an integration key's own
submissions; and the same rules compiled for SQL still written as text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text

from gis.access import EVERYWHERE, Principal, Scope
from gis.store.db import make_engine
from gis.store.models import AREAS, BUILDINGS, FACILITIES, INCIDENTS
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
M1_POINT = f"SRID=4326;POINT({X0 + HALF / 2} {Y0 + HALF / 2})"
M2_POINT = f"SRID=4326;POINT({X0 + HALF * 1.5} {Y0 + HALF / 2})"


@pytest.fixture(scope="module")
def street(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("scope"))
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(FACILITIES),
            [
                {"code": "F1", "kind": "clinic", "name": "卫生站", "geom": M1_POINT},
                {"code": "F2", "kind": "clinic", "name": "卫生站二", "geom": M2_POINT},
            ],
        )
        conn.execute(insert(INCIDENTS), [incident(*row) for row in INCIDENT_ROWS])
    yield engine
    engine.dispose()


#: (external id, owner chain, point, submitted by): "shape-M1-owned-M2" lies in M1's polygon
#: but is owned by M2 (the planted overlap of sibling micro-grids)
INCIDENT_ROWS = [
    ("in-M1", ["S", "G1", "M1"], M1_POINT, "hotline1"),
    ("in-M2", ["S", "G2", "M2"], M2_POINT, "hotline2"),
    ("shape-M1-owned-M2", ["S", "G2", "M2"], M1_POINT, "hotline1"),
    ("unowned", [], M1_POINT, None),
]


def incident(external_id: str, chain: list[str], point: str, by: str | None) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "category": "garbage",
        "source": "hotline",
        "geom": point,
        "location_status": "ok" if chain else "needs_review",
        "reported_at": AT,
        "status": "assigned" if chain else "reported",
        "due_at": AT,
        "owner_code": chain[-1] if chain else None,
        "area_codes": chain,
        "submitted_by": by,
    }


@pytest.fixture
def conn(street: Engine) -> Iterator[Connection]:
    with street.connect() as connection:
        yield connection


def codes(conn: Connection, scope: Scope) -> list[str]:
    query = select(AREAS.c.code).where(scope.areas(AREAS)).distinct().order_by(AREAS.c.code)
    return list(conn.execute(query).scalars())


def incidents(conn: Connection, scope: Scope) -> list[str]:
    query = select(INCIDENTS.c.external_id).where(scope.incidents(INCIDENTS))
    return sorted(conn.execute(query).scalars())


def test_areas_are_those_at_or_below_the_scope(conn: Connection) -> None:
    assert codes(conn, Scope("G1")) == ["G1", "M1", "M3"]
    assert codes(conn, Scope("M2")) == ["M2"]
    assert codes(conn, Scope("NOPE")) == []
    assert codes(conn, EVERYWHERE) == ["G1", "G2", "M1", "M2", "M3", "M4", "S"]
    # the same rule for areas already in memory (the assignment index)
    assert Scope("G1").holds_chain(["S", "G1", "M3"]) and not Scope("G1").holds_chain(["S", "G2"])


def test_incidents_are_owned_below_the_scope_never_found_by_their_point(conn: Connection) -> None:
    assert incidents(conn, Scope("M1")) == ["in-M1"]  # not the M2-owned one lying in M1
    assert incidents(conn, Scope("M2")) == ["in-M2", "shape-M1-owned-M2"]
    assert incidents(conn, Scope("G1")) == ["in-M1"]
    assert incidents(conn, EVERYWHERE) == sorted(r[0] for r in INCIDENT_ROWS)  # unowned too
    assert Scope("M2").holds_incident(["S", "G2", "M2"], None)
    assert not Scope("M1").holds_incident(["S", "G2", "M2"], None)


def test_an_integration_key_sees_only_what_it_submitted(conn: Connection) -> None:
    hotline = Scope.of(Principal(key_id="hotline1", name="12345", role="integration"))
    assert incidents(conn, hotline) == ["in-M1", "shape-M1-owned-M2"]
    scoped = Scope.of(Principal(key_id="hotline1", name="12345", role="integration", scope="M1"))
    assert incidents(conn, scoped) == ["in-M1"]
    official = Scope.of(Principal(key_id="hotline1", name="x", role="official"))
    assert official.everywhere  # only an integration key is limited to its own submissions


def test_buildings_and_facilities_are_those_inside_the_boundary(conn: Connection) -> None:
    def inside(table: Any, scope: Scope, generation: int | None = 1) -> list[str]:
        query = select(table.c.code).where(scope.inside(table.c.geom, generation=generation))
        return sorted(conn.execute(query).scalars())

    # B1 straddles the M1/M2 border: it meets both, and nothing of it is in M3
    assert inside(BUILDINGS, Scope("M1")) == inside(BUILDINGS, Scope("M2")) == ["B1"]
    assert inside(BUILDINGS, Scope("M3")) == [] == inside(BUILDINGS, Scope("M3"), None)
    assert inside(FACILITIES, Scope("M1")) == ["F1"]
    assert inside(FACILITIES, Scope("G2"), None) == ["F2"]
    assert inside(FACILITIES, EVERYWHERE) == ["F1", "F2"]
    assert inside(FACILITIES, Scope("M1"), 0) == []  # no boundary before generation 1


def test_a_link_to_another_incident_shows_only_inside_the_scope(conn: Connection) -> None:
    """``duplicate_of`` naming an incident out of scope reads as null, as if it were absent."""
    ids = {
        r.external_id: r.id for r in conn.execute(select(INCIDENTS.c.external_id, INCIDENTS.c.id))
    }
    in_m1, in_m2 = ids["in-M1"], ids["in-M2"]
    link = INCIDENTS.c.duplicate_of
    with conn.begin_nested() as savepoint:
        conn.execute(INCIDENTS.update().where(INCIDENTS.c.id == in_m1).values(duplicate_of=in_m2))

        def seen(scope: Scope) -> Any:
            query = select(scope.incident_ref(link)).where(INCIDENTS.c.id == in_m1)
            return conn.execute(query).scalar_one()

        assert seen(EVERYWHERE) == seen(Scope("S")) == in_m2
        assert seen(Scope("M1")) is None
        assert Scope("M1").visible_incidents(conn, [in_m1, in_m2, None]) == {in_m1}
        assert EVERYWHERE.visible_incidents(conn, [in_m2]) == {in_m2}
        savepoint.rollback()


@pytest.mark.parametrize("scope", [Scope("G1"), Scope("M2", "hotline1"), EVERYWHERE])
def test_text_fragments_are_the_same_rules(conn: Connection, scope: Scope) -> None:
    """Pages and tiles that still write SQL as text get the very clauses, compiled."""
    where, params = scope.text("areas", AREAS.alias("a"))
    sql = f"SELECT DISTINCT a.code FROM areas a WHERE {where} ORDER BY 1"
    assert list(conn.execute(text(sql), params).scalars()) == codes(conn, scope)
    where, params = scope.text("incidents", INCIDENTS.alias("i"))
    sql = f"SELECT i.external_id FROM incidents i WHERE {where} ORDER BY 1"
    assert list(conn.execute(text(sql), params).scalars()) == incidents(conn, scope)
    where, params = scope.text("inside", FACILITIES.alias("f"), generation=1)
    sql = f"SELECT f.code FROM facilities f WHERE {where} ORDER BY 1"
    found = list(conn.execute(text(sql), params).scalars())
    expected = {None: ["F1", "F2"], "G1": ["F1"], "M2": ["F2"]}[scope.area]
    assert found == expected


def test_nothing_limits_an_unscoped_key(tmp_path: Path) -> None:
    assert EVERYWHERE.everywhere and Scope.of(Principal("k", "admin", "admin")) == EVERYWHERE
