"""Issue 22 items C, D, J and §4 over a real server on the small street: each attack as it was
made, answered now the way the one owner of access (:mod:`gis.access`) says.

- C: heat and area counts scope incidents by their stored owner, not by shape;
- D: out of scope is indistinguishable from absent (duplicate links, intake answers and
  timelines, and ``/v1/areas/{code}`` by the very same statements);
- J: a relocation lands inside the caller's scope;
- §4: an integration key reads back what it submitted, nothing else; Open311 errors (401 and
  403 too) come in the Open311 error format;
- the standard-address gazetteer is public inside a deployment; who owns an address is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from gis.geocode.store import import_addresses
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

EAST_OF_BORDER = {"lon": X0 + HALF + 0.0002, "lat": Y0 + HALF / 2}  # M2, 19 m from M1
WEST_OF_BORDER = {"lon": X0 + HALF - 0.0002, "lat": Y0 + HALF / 2}  # M1, 19 m from M2
IN_M1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
IN_M1_ELSEWHERE = {"lon": X0 + HALF / 4, "lat": Y0 + HALF / 4}
IN_M2 = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}
#: on the M2/M4 border: covered by both, owned by M2 (the smaller code), as a point in the
#: demo's planted overlap of two sibling micro-grids is owned by one of them
ON_M2_M4_BORDER = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF}


@dataclass
class Site:
    url: str
    live: LiveServer
    keys: dict[str, str]

    def client(self, who: str | None) -> httpx.Client:
        headers = {"X-API-Key": self.keys[who]} if who else {}
        return httpx.Client(base_url=self.live.url, timeout=60, headers=headers)

    def post(self, who: str, point: dict[str, float], external_id: str, **extra: Any) -> Any:
        with self.client(who) as http:
            answer = http.post("/v1/incidents", json=body(point, external_id, **extra))
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


def body(point: dict[str, float], external_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "category": "garbage",
        "description": f"垃圾堆放 {external_id}",
        "source": "hotline",
        **point,
        "external_id": external_id,
        "reported_at": "2026-11-23T09:30:00+08:00",
        **extra,
    }


@pytest.fixture(scope="module")
def site(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    url = new_database()
    folder = tmp_path_factory.mktemp("scope-items")
    small_street_with_categories(url, folder)
    add_address(url, folder, "测试路1号", IN_M1)  # the standard address of a place in M1
    keys = {
        "admin": create_api_key(url, "admin"),
        "official": create_api_key(url, "official"),
        "field_worker@G1": create_api_key(url, "field_worker", "G1"),
        "field_worker@M4": create_api_key(url, "field_worker", "M4"),
        "field_worker@M3": create_api_key(url, "field_worker", "M3"),
        "integration@G1": create_api_key(url, "integration", "G1"),
        "hotline": create_api_key(url, "integration"),
        "other hotline": create_api_key(url, "integration"),
    }
    with LiveServer(Settings(database_url=url), key=keys["admin"]) as live:
        yield Site(url, live, keys)


def add_address(url: str, folder: Path, address: str, point: dict[str, float]) -> None:
    path = folder / "addresses.geojson"
    feature = {
        "type": "Feature",
        "properties": {"code": "A1", "address": address, "district": "普陀区"},
        "geometry": {"type": "Point", "coordinates": [point["lon"], point["lat"]]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    engine = make_engine(url)
    with engine.begin() as conn:
        import_addresses(
            conn, path, address_field="address", code_field="code", district_field="district"
        )
    engine.dispose()


def names(timeline: list[dict[str, Any]], ident: int) -> bool:
    """Whether a timeline names incident ``ident`` (in a note or a link's details)."""
    return any(
        re.search(rf"\b{ident}\b", e["note"] or "") or ident in (e["details"] or {}).values()
        for e in timeline
    )


def assert_404_alike(outside: httpx.Response, unknown: httpx.Response, a: str, b: str) -> None:
    """The same status, content type and body but for the id asked about."""
    assert outside.status_code == unknown.status_code == 404, (outside.text, unknown.text)
    assert outside.headers["content-type"] == unknown.headers["content-type"]
    assert outside.text.replace(a, "X") == unknown.text.replace(b, "X")


# -- C: ownership, not shape ---------------------------------------------------------------


def test_heat_and_area_counts_scope_by_owner_not_by_shape(site: Site) -> None:
    """An incident on the M2/M4 border is M2's: M4's field worker sees it nowhere, not in a
    res-15 cell, not in the heat page, not in M4's open-incident count."""
    owned = site.post("admin", ON_M2_M4_BORDER, "c-border", category="ebike_charging")
    assert owned["properties"]["owner"]["code"] == "M2"
    with site.client("field_worker@M4") as http:
        heat = http.get("/v1/heatmap", params={"res": 15, "category": "ebike_charging"}).json()
        assert heat["total"] == 0 and not any(f["properties"]["count"] for f in heat["features"])
        page = http.get("/maps/heat", params={"res": 12, "category": "ebike_charging"}).text
        assert "共 0 件事件，H3 精度 12" in page
        overview = http.get("/maps/overview").text
        assert '"code":"M4"' in overview and '"open_incidents":1' not in overview
        assert '"open_incidents":0' in overview
    with site.client("admin") as http:  # the owner's side still counts it
        heat = http.get("/v1/heatmap", params={"res": 15, "category": "ebike_charging"}).json()
        assert heat["total"] == 1
        counts = http.get("/maps/overview").text
        assert '"code":"M4"' in counts


# -- D: out of scope is absent -------------------------------------------------------------


def test_a_duplicate_cannot_be_linked_to_an_incident_out_of_scope(site: Site) -> None:
    """``of`` outside the scope whose root is inside it: linking used to succeed."""
    root = site.post("admin", IN_M1, "d-root", category="water_leak")["id"]
    outside = site.post("admin", IN_M2, "d-outside", category="water_leak")["id"]
    mine = site.post("admin", IN_M1_ELSEWHERE, "d-mine", category="ebike_charging")["id"]
    with site.client("admin") as http:
        link = {"of": root, "actor": "管理员"}
        assert http.post(f"/v1/incidents/{outside}/duplicate", json=link).status_code == 200
    with site.client("field_worker@G1") as http:
        path = f"/v1/incidents/{mine}/duplicate"
        via_outside = http.post(path, json={"of": outside})
        unknown = http.post(path, json={"of": 99999999})
        assert via_outside.status_code == unknown.status_code == 422, via_outside.text
        a, b = via_outside.json(), unknown.json()
        assert a["field"] == b["field"] == "of"
        assert a["detail"].replace(str(outside), "X") == b["detail"].replace("99999999", "X")
        assert http.get(f"/v1/incidents/{mine}").json()["properties"]["duplicate_of"] is None


def test_intake_answers_and_timelines_name_no_incident_out_of_scope(site: Site) -> None:
    """A report 38 m from an open M2 report of the same kind is linked to it as a duplicate:
    the G1 key that sent it must not learn the M2 incident's id, at intake or later."""
    theirs = site.post("admin", EAST_OF_BORDER, "d-theirs")["id"]
    one = site.post("integration@G1", WEST_OF_BORDER, "d-one")
    assert one["properties"]["owner"]["code"] == "M1"
    with site.client("integration@G1") as http:
        batch = http.post(
            "/v1/incidents/batch", json={"incidents": [body(WEST_OF_BORDER, "d-two")]}
        ).json()
    two = batch["results"][0]
    with site.client("admin") as http:  # linked indeed, as the admin sees
        stored = http.get(f"/v1/incidents/{one['id']}").json()["properties"]
        assert stored["duplicate_of"] == theirs
        assert http.get(f"/v1/incidents/{two['id']}").json()["properties"]["duplicate_of"] == theirs
    assert one["properties"]["duplicate_of"] is None and two["duplicate_of"] is None
    assert not names(one["properties"]["timeline"], theirs)
    for who in ("field_worker@G1", "integration@G1"):
        with site.client(who) as http:
            for ident in (one["id"], two["id"]):
                shown = http.get(f"/v1/incidents/{ident}").json()["properties"]
                assert shown["duplicate_of"] is None
                assert not names(shown["timeline"], theirs), shown["timeline"]
            listed = http.get("/v1/incidents", params={"duplicates": "true"}).json()
            assert not {f["id"] for f in listed["features"]} & {one["id"], two["id"]}
            csv = http.get("/v1/incidents/export.csv").text
            assert f",{theirs}," not in csv
    with site.client("integration@G1") as http:  # a field worker may not follow events
        answer = http.get("/v1/events", params={"limit": 1000})
        assert answer.status_code == 200, answer.text
        mine = [e for e in answer.json()["events"] if e["data"].get("id") in (one["id"], two["id"])]
        assert any(e["type"] == "incident.duplicate_linked" for e in mine)
        for event in mine:
            data = event["data"]
            assert data.get("duplicate_of") is None, event
            change = data.get("change") or {}
            assert theirs not in (change.get("details") or {}).values(), event
            assert not re.search(rf"\b{theirs}\b", change.get("note") or ""), event


def test_an_area_out_of_scope_runs_the_very_statements_an_unknown_one_does(site: Site) -> None:
    """No timing oracle: ``/v1/areas/{code}`` out of scope and unknown take one path."""
    engine = site.live.server.config.app.state.engine
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "areas" in statement:  # the lookup (not the key's or the generation's caches)
            statements.append(statement)

    with site.client("field_worker@G1") as http:
        assert http.get("/v1/areas/M1").status_code == 200  # key verified, index warm
        runs = {}
        for code in ("M2", "NOPE", "M2", "NOPE"):
            statements.clear()
            event.listen(engine, "before_cursor_execute", seen)
            try:
                answer = http.get(f"/v1/areas/{code}")
            finally:
                event.remove(engine, "before_cursor_execute", seen)
            runs[code] = (answer.status_code, answer.text.replace(code, "X"), list(statements))
    assert runs["M2"] == runs["NOPE"]
    assert runs["M2"][0] == 404 and runs["M2"][2]


# -- J: a relocation stays in scope ---------------------------------------------------------


def test_a_relocation_must_land_inside_the_callers_scope(site: Site) -> None:
    ident = site.post("admin", IN_M1, "j-moved", category="ebike_charging")["id"]
    with site.client("field_worker@G1") as http:
        nowhere = {"lon": 121.0, "lat": 31.0}  # a field key acts as itself: no actor
        moved = http.post(f"/v1/incidents/{ident}/location", json=nowhere)
        assert moved.status_code == 422, moved.text
        assert moved.json()["field"] == "lon" and "outside your scope" in moved.json()["detail"]
        sibling = http.post(f"/v1/incidents/{ident}/location", json=IN_M2)
        assert sibling.status_code == 422
        inside = http.post(f"/v1/incidents/{ident}/location", json=IN_M1)
        assert inside.status_code == 200, inside.text
        still = http.get(f"/v1/incidents/{ident}").json()["properties"]
    assert still["owner"]["code"] == "M1" and still["status"] == "assigned"


# -- §4: integration keys and Open311 errors ------------------------------------------------


def test_an_integration_key_reads_back_what_it_submitted_and_nothing_else(site: Site) -> None:
    mine = site.post("hotline", IN_M1, "12345-mine", category="water_leak")["id"]
    theirs = site.post("other hotline", IN_M2, "12345-theirs", category="water_leak")["id"]
    with site.client("hotline") as http:
        ticket = http.get(f"/open311/v2/requests/{mine}.json")
        assert ticket.status_code == 200, ticket.text
        assert ticket.json()[0]["service_request_id"] == str(mine)
        assert http.get(f"/v1/incidents/{mine}").json()["properties"]["external_id"] == "12345-mine"
        again = http.post("/v1/incidents", json=body(IN_M1, "12345-mine", category="water_leak"))
        assert again.status_code == 200 and again.json()["properties"]["description"]
        assert_404_alike(
            http.get(f"/open311/v2/requests/{theirs}.json"),
            http.get("/open311/v2/requests/99999999.json"),
            str(theirs),
            "99999999",
        )
        assert_404_alike(
            http.get(f"/v1/incidents/{theirs}"),
            http.get("/v1/incidents/99999999"),
            str(theirs),
            "99999999",
        )
        repeat = http.post("/v1/incidents", json=body(IN_M2, "12345-theirs", category="water_leak"))
        assert repeat.status_code == 200 and "description" not in repeat.json()["properties"]
        listed = {
            f["id"] for f in http.get("/v1/incidents", params={"limit": 1000}).json()["features"]
        }
        assert mine in listed and theirs not in listed
        requests = http.get("/open311/v2/requests.json").json()
        assert {int(r["service_request_id"]) for r in requests} == listed
        assert http.get("/v1/areas").status_code == 403  # and nothing else: no areas, stats
        assert http.get("/v1/stats").status_code == 403


def test_open311_errors_are_open311_errors_401_and_403_too(site: Site) -> None:
    with site.client(None) as http:
        unauthenticated = http.get("/open311/v2/requests.json")
    with site.client("official") as http:
        forbidden = http.post(
            "/open311/v2/requests.json", data={"service_code": "garbage", "lat": "31.24"}
        )
        unknown = http.get("/open311/v2/requests/99999999.json")
    for answer, status in ((unauthenticated, 401), (forbidden, 403), (unknown, 404)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/json"
        [error] = answer.json()
        assert error["code"] == status and error["description"]
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")


# -- the gazetteer --------------------------------------------------------------------------


def test_the_gazetteer_is_public_but_who_owns_an_address_is_not(site: Site) -> None:
    """B1 (测试路1号) lies in M1/M2: a key scoped to M3 finds the address (the door-plate
    register is public inside a deployment) but learns no owner outside M3."""
    with site.client("field_worker@M3") as http:
        found = http.get("/v1/geocode", params={"address": "测试路1号"}).json()
        assert found["lon"] is not None and found["owner"] is None
        near = http.get("/v1/reverse", params={"lon": found["lon"], "lat": found["lat"]}).json()
        assert near["nearest"]["standard_address"] and near["areas"]["owner"] is None
        building = http.get("/ogc/collections/buildings/items/B1")
        assert building.status_code == 404  # the building record is scoped: inside M3 only
    with site.client("field_worker@G1") as http:
        assert http.get("/v1/geocode", params={"address": "测试路1号"}).json()["owner"]
