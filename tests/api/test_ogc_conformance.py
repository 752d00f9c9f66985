"""Every conformance class the OGC API claims is served: links resolve, documents validate
(OpenAPI 3.0, JSON Schema, the published response models), CRS negotiation, filters,
HTML, and precise problems for bad parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import text

from api.schemas.ogc import CollectionInfo, Collections, FeatureCollection, LandingPage
from tests.api.ogc_fixtures import LOCATED, PHONE, RENAMED, UNLOCATED, DemoServer

SPEC = "http://www.opengis.net/spec/"
CLAIMED = {
    f"{SPEC}ogcapi-features-1/1.0/conf/core",
    f"{SPEC}ogcapi-features-1/1.0/conf/geojson",
    f"{SPEC}ogcapi-features-1/1.0/conf/html",
    f"{SPEC}ogcapi-features-1/1.0/conf/oas30",
    f"{SPEC}ogcapi-features-2/1.0/conf/crs",
    f"{SPEC}ogcapi-features-3/1.0/conf/queryables",
    f"{SPEC}ogcapi-features-3/1.0/conf/queryables-query-parameters",
    # Part 3 filtering and CQL2: tests/api/test_ogc_filter.py (issue 26)
    f"{SPEC}ogcapi-features-3/1.0/conf/filter",
    f"{SPEC}ogcapi-features-3/1.0/conf/features-filter",
    f"{SPEC}cql2/1.0/conf/cql2-text",
    f"{SPEC}cql2/1.0/conf/cql2-json",
    f"{SPEC}cql2/1.0/conf/basic-cql2",
    f"{SPEC}cql2/1.0/conf/advanced-comparison-operators",
    f"{SPEC}cql2/1.0/conf/basic-spatial-functions",
}
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def http(demo_server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_server.url, headers=demo_server.headers, timeout=60) as client:
        yield client


def rel(links: list[dict[str, Any]], name: str, type_: str | None = None) -> str:
    return next(
        x["href"] for x in links if x["rel"] == name and (type_ is None or x.get("type") == type_)
    )


def test_conformance_lists_exactly_the_classes_tested_here(http: httpx.Client) -> None:
    assert set(http.get("/ogc/conformance").json()["conformsTo"]) == CLAIMED


def test_core_landing_links_resolve(http: httpx.Client) -> None:
    landing = LandingPage.model_validate(http.get("/ogc/").json())
    rels = {link.rel for link in landing.links}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= rels
    for link in landing.links:
        response = http.get(link.href, headers={"Accept": link.type or "*/*"})
        assert response.status_code == 200, link
        assert response.headers["content-type"].startswith((link.type or "").split(";")[0])


def test_core_collections_and_their_links(http: httpx.Client) -> None:
    collections = Collections.model_validate(http.get("/ogc/collections").json())
    ids = [c.id for c in collections.collections]
    assert ids == [
        "street", "community", "grid", "micro_grid", "block", "corridor",
        "buildings", "facilities", "incidents",
    ]  # fmt: skip
    for collection in collections.collections:
        one = CollectionInfo.model_validate(http.get(f"/ogc/collections/{collection.id}").json())
        assert one.extent is not None and one.extent.spatial.bbox[0][0] < 121.5
        for link in one.links:
            assert http.get(link.href).status_code == 200, link
    grids = CollectionInfo.model_validate(http.get("/ogc/collections/micro_grid").json())
    assert grids.extent is not None and grids.extent.temporal is not None  # boundary history
    incidents = CollectionInfo.model_validate(http.get("/ogc/collections/incidents").json())
    assert incidents.extent is not None and incidents.extent.temporal is not None
    assert incidents.extent.temporal.interval[0][0] is not None  # the first report


def test_core_paging_through_next_links(http: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/ogc/collections/grid/items?limit=7"
    while url:
        response = http.get(url)
        page = FeatureCollection.model_validate(response.json())
        assert page.numberMatched == 41 and page.numberReturned == len(page.features) <= 7
        seen += [str(f.id) for f in page.features]
        url = next((x.href for x in page.links if x.rel == "next"), None)
    assert len(seen) == len(set(seen)) == 41 and seen == sorted(seen)


def test_geojson_media_type_and_feature(http: httpx.Client) -> None:
    items = http.get("/ogc/collections/facilities/items?limit=3")
    assert items.headers["content-type"].startswith("application/geo+json")
    feature = items.json()["features"][0]
    assert feature["geometry"]["type"] == "Point" and "crs" not in feature["geometry"]
    one = http.get(f"/ogc/collections/facilities/items/{feature['id']}")
    assert one.headers["content-type"].startswith("application/geo+json")
    assert one.json()["properties"] == feature["properties"]


@pytest.mark.parametrize(
    "path",
    [
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/micro_grid",
        "/ogc/collections/micro_grid/queryables",
        "/ogc/collections/micro_grid/items?limit=5",
        "/ogc/collections/buildings/items?limit=5",
    ],
)
def test_html_by_parameter_and_by_accept(http: httpx.Client, path: str) -> None:
    sep = "&" if "?" in path else "?"
    for response in (
        http.get(f"{path}{sep}f=html"),
        http.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
    ):
        assert response.headers["content-type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>") and "</html>" in response.text
    assert not http.get(path).headers["content-type"].startswith("text/html")


def test_oas30_document_is_valid_openapi_3_0(http: httpx.Client) -> None:
    response = http.get("/ogc/api")
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    validate_openapi(doc)
    assert doc["servers"] == [{"url": "/ogc"}]  # paths are relative to it
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000  # WANGGE_MAX_PAGE_SIZE, shared by every list


def test_crs_list_content_crs_and_coordinates(http: httpx.Client) -> None:
    crs = http.get("/ogc/collections/buildings").json()["crs"]
    assert crs[0].endswith("CRS84") and CGCS2000 in crs and crs[-1].endswith("/4549")
    plain = http.get("/ogc/collections/buildings/items?limit=2")
    assert plain.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    cgcs = http.get("/ogc/collections/buildings/items", params={"limit": 2, "crs": CGCS2000})
    assert cgcs.headers["content-crs"] == f"<{CGCS2000}>"
    lon, lat = plain.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    lat2, lon2 = cgcs.json()["features"][0]["geometry"]["coordinates"][0][0][0]  # lat first
    assert abs(lon - lon2) < 1e-6 and abs(lat - lat2) < 1e-6 and 31 < lat < 32


def test_bbox_crs_selects_the_same_features(http: httpx.Client) -> None:
    box = (121.39, 31.24, 121.41, 31.26)
    wgs = http.get("/ogc/collections/micro_grid/items", params={"bbox": ",".join(map(str, box))})
    flipped = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    cgcs = http.get(
        "/ogc/collections/micro_grid/items", params={"bbox": flipped, "bbox-crs": CGCS2000}
    )
    assert 0 < wgs.json()["numberMatched"] == cgcs.json()["numberMatched"] < 305


def test_queryables_are_a_valid_json_schema(http: httpx.Client) -> None:
    response = http.get("/ogc/collections/micro_grid/queryables")
    assert response.headers["content-type"].startswith("application/schema+json")
    schema = response.json()
    Draft202012Validator.check_schema(schema)
    assert {"code", "name", "parent_code", "geometry"} <= set(schema["properties"])
    feature = http.get("/ogc/collections/micro_grid/items?limit=1").json()["features"][0]
    props = {k: v for k, v in feature["properties"].items() if k in schema["properties"]}
    assert Draft202012Validator(schema).is_valid(props)


def test_queryable_filters(http: httpx.Client, demo_server: DemoServer) -> None:
    parent = "310107016001-G01"
    page = http.get("/ogc/collections/micro_grid/items", params={"parent_code": parent}).json()
    assert page["numberMatched"] > 1
    assert {f["properties"]["parent_code"] for f in page["features"]} == {parent}
    big = http.get("/ogc/collections/buildings/items", params={"households": 0}).json()
    assert all(f["properties"]["households"] == 0 for f in big["features"])


def test_datetime_instant_and_interval(http: httpx.Client, demo_server: DemoServer) -> None:
    when = demo_server.between.isoformat()
    path = "/ogc/collections/micro_grid/items"
    assert http.get(path, params={"datetime": when}).json()["numberMatched"] == 306
    assert http.get(path).json()["numberMatched"] == 305
    both = http.get(path, params={"datetime": "../..", "limit": 1})
    assert both.status_code == 422
    history = http.get(path, params={"datetime": f"{when}/..", "limit": 1000}).json()
    ids = [f["id"] for f in history["features"]]
    assert history["numberMatched"] == 307 and len(set(ids)) == 307  # the renamed one twice
    code = demo_server.renamed_code
    assert f"{code}@1" in ids and f"{code}@2" in ids
    old = http.get(f"/ogc/collections/micro_grid/items/{code}@1").json()
    new = http.get(f"/ogc/collections/micro_grid/items/{code}").json()
    assert new["properties"]["name"] == RENAMED != old["properties"]["name"]
    assert old["properties"]["generation_to"] == 1 and new["properties"]["generation_to"] is None


def test_ogc_and_v1_areas_read_the_same_features(http: httpx.Client) -> None:
    v1 = http.get("/v1/areas", params={"level": "grid", "limit": 5}).json()["features"]
    ogc = http.get("/ogc/collections/grid/items", params={"limit": 5}).json()["features"]
    for a, b in zip(v1, ogc, strict=True):
        assert a["id"] == b["id"] and a["geometry"] == b["geometry"]
        assert {k: b["properties"][k] for k in a["properties"]} == a["properties"]


def test_incidents_all_served_unlocated_ones_with_null_geometry_phones_masked(
    http: httpx.Client, demo_server: DemoServer
) -> None:
    with demo_server.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE geom IS NULL) FROM incidents")
        ).one()
    assert tuple(stored) == (LOCATED + UNLOCATED, UNLOCATED)
    response = http.get("/ogc/collections/incidents/items", params={"limit": 1000})
    page = FeatureCollection.model_validate(response.json())
    assert page.numberMatched == page.numberReturned == LOCATED + UNLOCATED
    features = response.json()["features"]
    assert sum(f["geometry"] is None for f in features) == UNLOCATED
    assert {f["properties"]["location_status"] for f in features if f["geometry"] is None} == {
        "needs_review"
    }
    phones = [f["properties"]["reporter_phone"] for f in features]
    assert phones.count("138****5678") == (LOCATED + 1) // 2
    assert set(phones) == {"138****5678", None}
    assert "reporter_name" not in features[0]["properties"]
    assert all(f["properties"]["owner_code"] for f in features if f["geometry"] is not None)
    one = http.get(f"/ogc/collections/incidents/items/{features[0]['id']}")
    assert one.json()["properties"]["reporter_phone"] == "138****5678"
    html = http.get("/ogc/collections/incidents/items", params={"limit": 1000, "f": "html"})
    for text_ in (response.text, one.text, html.text):
        assert PHONE not in text_
    # a bbox never matches an incident without a location; the raw phone is no filter
    box = http.get("/ogc/collections/incidents/items", params={"bbox": "121.0,31.0,121.9,31.5"})
    assert box.json()["numberMatched"] == LOCATED
    probe = http.get("/ogc/collections/incidents/items", params={"reporter_phone": PHONE})
    assert probe.status_code == 422 and probe.json()["field"] == "reporter_phone"
    queryables = http.get("/ogc/collections/incidents/queryables").json()["properties"]
    assert {"status", "category", "owner_code"} <= set(queryables)
    assert "reporter_phone" not in queryables


def test_api_root_points_to_the_ogc_landing_page(http: httpx.Client) -> None:
    root = http.get("/", follow_redirects=False)
    assert root.status_code == 200
    links = root.json()
    assert links["ogc"] == "/ogc/" and links["maps"] == "/maps/"  # one root for both
    landing = http.get(links["ogc"], follow_redirects=False)
    assert landing.status_code == 200
    assert LandingPage.model_validate(landing.json()).title.startswith("wangge")
    assert "/ogc/" in http.get("/openapi.json").json()["info"]["description"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("offset=-1", "offset"),
        ("offset=10000001", "offset"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=121.41,31.24,121.39,31.26", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=1,2,3,4&bbox-crs=EPSG:3857", "bbox-crs"),
        ("crs=EPSG:3857", "crs"),
        ("datetime=last-march", "datetime"),
        ("bogus=1", "bogus"),
        ("level=grid", "level"),  # fixed by the collection, not a queryable
        ("f=xml", "f"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    http: httpx.Client, query: str, field: str
) -> None:
    response = http.get(f"/ogc/collections/micro_grid/items?{query}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == field


def test_registers_reject_datetime_and_bad_numbers(http: httpx.Client) -> None:
    for query, field in (
        ("datetime=2026-01-01T00:00:00Z", "datetime"),
        ("residents=x", "residents"),
    ):
        response = http.get(f"/ogc/collections/buildings/items?{query}")
        assert response.status_code == 422 and response.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/ogc/collections/nope", "collectionId"),
        ("/ogc/collections/nope/items", "collectionId"),
        ("/ogc/collections/micro_grid/items/NOPE", "featureId"),
        ("/ogc/collections/micro_grid/items/NOPE@x", "featureId"),
        ("/ogc/collections/buildings/items/NOPE", "featureId"),
    ],
)
def test_unknown_things_are_404(http: httpx.Client, path: str, field: str) -> None:
    response = http.get(path)
    assert response.status_code == 404 and response.json()["field"] == field
