"""The collection list is data-driven: area levels present now, the registers, and an
incidents collection as soon as an ``incidents`` table exists (built on another branch;
here a table with the columns it is expected to have)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from gis.errors import InvalidInput, NotFound
from gis.features.catalog import get_collection, list_collections, queryables
from gis.features.items import ItemsQuery, get_item, get_items

# Dropped first (inside the rolled-back transaction) so the tests hold whether or not the
# incidents branch's migration has created the real table.
NO_INCIDENTS = "DROP TABLE IF EXISTS incidents CASCADE"
INCIDENTS = """
CREATE TABLE incidents (
    id bigserial PRIMARY KEY, category text NOT NULL, status text NOT NULL,
    reported_at timestamptz NOT NULL, owner_code text,
    geom geometry(POINT, 4326) NOT NULL
);
INSERT INTO incidents (category, status, reported_at, owner_code, geom) VALUES
 ('garbage', 'reported', '2026-03-01T08:00:00Z', 'M1', 'SRID=4326;POINT(121.395 31.245)'),
 ('ebike_fire_risk', 'resolved', '2026-03-02T09:30:00Z', 'M2', 'SRID=4326;POINT(121.405 31.245)'),
 ('standing_water', 'reported', '2026-04-01T10:00:00Z', 'M4', 'SRID=4326;POINT(121.405 31.255)');
"""


def test_no_incidents_collection_without_the_table(conn: Connection) -> None:
    conn.execute(text(NO_INCIDENTS))
    assert "incidents" not in [c.id for c in list_collections(conn)]
    with pytest.raises(NotFound) as caught:
        get_collection(conn, "incidents")
    assert caught.value.field == "collectionId"


def test_incidents_collection_appears_with_the_table(conn: Connection) -> None:
    conn.execute(text(NO_INCIDENTS))
    conn.execute(text(INCIDENTS))
    incidents = get_collection(conn, "incidents")
    assert incidents.temporal and not incidents.versioned
    assert incidents.time_extent is not None and incidents.time_extent[0].month == 3
    assert {"category", "status", "owner_code", "geometry"} == set(queryables(incidents))
    reported = get_items(conn, "incidents", ItemsQuery(filters={"status": "reported"}))
    assert reported.page.number_matched == 2
    march = get_items(
        conn, "incidents", ItemsQuery(datetime="2026-03-01T00:00:00Z/2026-03-31T00:00:00Z")
    )
    assert [f["properties"]["category"] for f in march.page.features] == [
        "garbage",
        "ebike_fire_risk",
    ]
    assert march.page.features[0]["properties"]["reported_at"].startswith("2026-03-01T08:00")
    one = get_item(conn, "incidents", str(march.page.features[1]["id"]))
    assert one.page.features[0]["properties"]["status"] == "resolved"
    with pytest.raises(NotFound):
        get_item(conn, "incidents", "not-a-number")
    with pytest.raises(InvalidInput) as caught:
        get_items(conn, "incidents", ItemsQuery(filters={"reported_at": "x"}))
    assert caught.value.field == "reported_at"
