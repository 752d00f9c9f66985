"""The incidents collection on the real incidents table (migration 0004): listed even while
empty, temporal on ``reported_at``, filtered by its queryables, the phone masked."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from gis.errors import InvalidInput, NotFound
from gis.features.catalog import get_collection, list_collections, queryables
from gis.features.items import ItemsQuery, get_item, get_items
from gis.incidents.categories import ensure_categories

INCIDENTS = """
INSERT INTO incidents (category, source, status, location_status, reported_at, due_at,
                       owner_code, reporter_phone, geom) VALUES
 ('garbage', 'hotline', 'reported', 'ok', '2026-03-01T08:00:00Z', '2026-03-02T08:00:00Z',
  'M1', '13912345678', 'SRID=4326;POINT(121.395 31.245)'),
 ('ebike_charging', 'app', 'resolved', 'ok', '2026-03-02T09:30:00Z', '2026-03-02T11:30:00Z',
  'M2', NULL, 'SRID=4326;POINT(121.405 31.245)'),
 ('standing_water', 'patrol', 'reported', 'needs_review', '2026-04-01T10:00:00Z',
  '2026-04-01T22:00:00Z', NULL, NULL, NULL);
"""


def test_incidents_collection_is_listed_while_empty(conn: Connection) -> None:
    conn.execute(text("DELETE FROM incidents"))
    assert [c.id for c in list_collections(conn)][-1] == "incidents"
    empty = get_collection(conn, "incidents")
    assert empty.time_extent == (None, None)
    assert get_items(conn, "incidents", ItemsQuery()).page.number_matched == 0
    with pytest.raises(NotFound) as caught:
        get_collection(conn, "nothing")
    assert caught.value.field == "collectionId"


def test_incidents_collection_reads_the_table(conn: Connection) -> None:
    conn.execute(text("DELETE FROM incidents"))
    ensure_categories(conn)
    conn.execute(text(INCIDENTS))
    incidents = get_collection(conn, "incidents")
    assert incidents.temporal and not incidents.versioned
    assert incidents.time_extent is not None and incidents.time_extent[0].month == 3
    # the times are queryable for CQL2 comparisons (issue 26)
    assert set(queryables(incidents)) == {
        "category", "status", "source", "location_status", "owner_code", "duplicate_of",
        "reported_at", "due_at", "resolved_at", "geometry",
    }  # fmt: skip
    reported = get_items(conn, "incidents", ItemsQuery(filters={"status": "reported"}))
    assert reported.page.number_matched == 2  # the unlocated one too, with no geometry
    assert [f["geometry"] is None for f in reported.page.features] == [False, True]
    march = get_items(
        conn, "incidents", ItemsQuery(datetime="2026-03-01T00:00:00Z/2026-03-31T00:00:00Z")
    )
    first, second = march.page.features
    assert [first["properties"]["category"], second["properties"]["category"]] == [
        "garbage",
        "ebike_charging",
    ]
    assert first["properties"]["reported_at"].startswith("2026-03-01T08:00")
    assert first["properties"]["reporter_phone"] == "139****5678"
    one = get_item(conn, "incidents", str(second["id"]))
    assert one.page.features[0]["properties"]["status"] == "resolved"
    with pytest.raises(NotFound):
        get_item(conn, "incidents", "not-a-number")
    for name in ("reported_at", "reporter_phone"):
        with pytest.raises(InvalidInput) as caught:
            get_items(conn, "incidents", ItemsQuery(filters={name: "x"}))
        assert caught.value.field == name
