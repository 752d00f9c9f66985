"""Who may do what, over a real server on the small street: every role × endpoint family
(allowed, denied with 403, no key 401), scope by the area hierarchy (out of scope answers the
very 404 an unknown object gets), phone masking, the audit log, revocation, the sign-in
cookie, rate limits and the public (anonymous) setting."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from gis.security.keys import revoke_key
from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, small_street_with_categories
from tests.signin import csrf_token, sign_in

IN_M1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}  # grid G1
IN_M2 = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}  # grid G2
PHONE = "13812345678"
ROLES = ("official", "field_worker", "integration", "admin")


@dataclass
class Site:
    url: str  # the database
    live: LiveServer
    keys: dict[str, str]  # role (or role@scope) → key
    in_g1: int  # an incident owned below G1
    in_g2: int  # one owned below G2

    def client(self, who: str | None) -> httpx.Client:
        headers = {"X-API-Key": self.keys[who]} if who else {}
        return httpx.Client(base_url=self.live.url, timeout=60, headers=headers)


def incident_body(point: dict[str, float], external_id: str) -> dict[str, object]:
    return {
        "category": "garbage",
        "description": "垃圾堆放",
        "source": "hotline",
        **point,
        "external_id": external_id,
        "reported_at": "2026-11-23T09:30:00+08:00",
        "reporter": {"name": "陈先生", "phone": PHONE},
    }


@pytest.fixture(scope="module")
def site(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("access"))
    keys = {role: create_api_key(url, role) for role in ROLES}
    keys["field_worker@G1"] = create_api_key(url, "field_worker", "G1")
    keys["official@G1"] = create_api_key(url, "official", "G1")
    keys["integration@G1"] = create_api_key(url, "integration", "G1")
    settings = Settings(database_url=url, index_check_seconds=0.2)
    with LiveServer(settings, key=keys["admin"]) as live:
        with httpx.Client(base_url=live.url, headers={"X-API-Key": keys["integration"]}) as c:
            one = c.post("/v1/incidents", json=incident_body(IN_M1, "access-1"))
            two = c.post("/v1/incidents", json=incident_body(IN_M2, "access-2"))
        assert one.status_code == two.status_code == 201, (one.text, two.text)
        yield Site(url, live, keys, one.json()["id"], two.json()["id"])


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if field is not None:
        assert body["field"] == field
    return body


INTAKE = incident_body(IN_M1, "family-intake")
READERS = {"official", "field_worker", "admin"}
# an integration key reads incidents too: those it submitted (its scope says so)
INCIDENT_READERS = READERS | {"integration"}
# (family, method, path, body) → the roles allowed; everything else is 403 for the others
FAMILIES: list[tuple[str, str, str, object, set[str]]] = [
    ("areas", "GET", "/v1/areas", None, READERS),
    ("area", "GET", "/v1/areas/M1", None, READERS),
    ("assign", "GET", f"/v1/assign?lon={IN_M1['lon']}&lat={IN_M1['lat']}", None, set(ROLES)),
    ("assign batch", "POST", "/v1/assign/batch", {"points": [IN_M1]}, set(ROLES)),
    ("geocode", "GET", "/v1/geocode?address=测试路1号", None, set(ROLES)),
    ("incidents", "GET", "/v1/incidents", None, INCIDENT_READERS),
    ("export", "GET", "/v1/incidents/export.csv", None, INCIDENT_READERS),
    ("intake", "POST", "/v1/incidents/batch", {"incidents": [INTAKE]}, {"integration", "admin"}),
    ("stats", "GET", "/v1/stats", None, {"official", "admin"}),
    ("coverage", "GET", "/v1/coverage?checks=gap", None, {"official", "field_worker", "admin"}),
    ("heatmap", "GET", "/v1/heatmap", None, READERS),
    ("maps", "GET", "/maps/overview", None, READERS),
    ("tiles", "GET", "/tiles/areas/10/868/420.pbf", None, READERS),
    (
        "ogc",
        "GET",
        "/ogc/collections/micro_grid/items",
        None,
        {"official", "field_worker", "admin"},
    ),
    ("open311", "GET", "/open311/v2/requests.json", None, INCIDENT_READERS),
    ("audit", "GET", "/v1/audit", None, {"admin"}),
]


@pytest.mark.parametrize(
    ("family", "method", "path", "body", "allowed"), FAMILIES, ids=[f[0] for f in FAMILIES]
)
def test_role_by_endpoint_family(
    site: Site, family: str, method: str, path: str, body: object, allowed: set[str]
) -> None:
    for role in ROLES:
        with site.client(role) as http:
            answer = http.request(method, path, json=body)
        if role in allowed:
            assert answer.status_code < 300, (role, answer.text)
        elif path.startswith("/open311/"):
            assert_open311_error(answer, 403, role)
        else:
            problem = assert_problem(answer, 403, "role")
            assert role in problem["detail"]
    with site.client(None) as http:
        answer = http.request(method, path, json=body)
    if path.startswith("/open311/"):  # Open311 clients parse their own error format only
        assert_open311_error(answer, 401, "X-API-Key")
    else:
        assert_problem(answer, 401, "X-API-Key")


def assert_open311_error(response: httpx.Response, status: int, mentions: str) -> None:
    """An Open311 error: a list of ``{code, description}``, never problem+json."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()
    assert error["code"] == status and mentions in error["description"]


def test_updates_need_the_update_permission(site: Site) -> None:
    path = f"/v1/incidents/{site.in_g2}/transitions"
    body = {"to": "in_progress"}  # the actor is the key's holder
    for role in ("official", "integration"):
        with site.client(role) as http:
            assert_problem(http.post(path, json=body), 403, "role")
    with site.client("field_worker") as http:
        answer = http.post(path, json=body)
    assert answer.status_code in (200, 409), answer.text  # allowed (409: not from this state)


def test_unknown_and_revoked_keys_are_401(site: Site) -> None:
    with httpx.Client(base_url=site.live.url, headers={"X-API-Key": "wg_nonsense"}) as http:
        assert_problem(http.get("/v1/areas"), 401, "X-API-Key")
    spare = create_api_key(site.url, "official")
    bearer = {"Authorization": f"Bearer {spare}"}
    with httpx.Client(base_url=site.live.url, headers=bearer, timeout=30) as http:
        assert http.get("/v1/areas").status_code == 200
        engine = make_engine(site.url)
        with engine.begin() as conn:
            revoke_key(conn, spare.split("_")[1])
        engine.dispose()
        deadline = time.monotonic() + 20
        while http.get("/v1/areas").status_code != 401:  # every worker within a poll
            assert time.monotonic() < deadline, "the revoked key still works"
            time.sleep(0.2)
        assert http.get("/v1/areas").headers["www-authenticate"].startswith("Bearer")


def test_scope_lists_only_what_lies_below(site: Site) -> None:
    with site.client("official@G1") as http:
        areas = http.get("/v1/areas").json()
        assert sorted(f["properties"]["code"] for f in areas["features"]) == ["G1", "M1", "M3"]
        listed = http.get("/v1/incidents").json()["features"]
        ids = sorted(f["id"] for f in listed)  # other tests add incidents in M1 too
        assert site.in_g1 in ids and site.in_g2 not in ids
        assert all("G1" in [c["code"] for c in f["properties"]["chain"]] for f in listed)
        assert http.get("/v1/stats").json()["total"]["count"] == len(ids)
        csv_ids = [line.split(",")[0] for line in http.get("/v1/incidents/export.csv").text.split()]
        assert sorted(int(i) for i in csv_ids[1:]) == ids
        ogc = http.get("/ogc/collections/micro_grid/items").json()
        assert sorted(f["id"] for f in ogc["features"]) == ["M1", "M3"]
        ogc_incidents = http.get("/ogc/collections/incidents/items").json()
        assert sorted(f["id"] for f in ogc_incidents["features"]) == ids
        requests = http.get("/open311/v2/requests.json").json()
        assert sorted(int(r["service_request_id"]) for r in requests) == ids
        coverage = http.get("/v1/coverage", params={"checks": "gap"}).json()
        assert coverage["area"] == "G1"
    with site.client("admin") as http:
        assert http.get("/v1/areas").json()["numberMatched"] == 7


def test_out_of_scope_is_the_same_404_as_unknown(site: Site) -> None:
    """Existence must not leak: an object outside the scope answers exactly like one that
    does not exist (same status, field and wording)."""

    def same(outside: httpx.Response, unknown: httpx.Response, name: str, missing: str) -> None:
        a, b = assert_problem(outside, 404), assert_problem(unknown, 404)
        assert a["field"] == b["field"]
        assert a["detail"].replace(name, "X") == b["detail"].replace(missing, "X")

    with site.client("field_worker@G1") as http:
        assert http.get("/v1/areas/M1").status_code == 200
        same(http.get("/v1/areas/M2"), http.get("/v1/areas/NOPE"), "M2", "NOPE")
        same(
            http.get(f"/v1/incidents/{site.in_g2}"),
            http.get("/v1/incidents/99999999"),
            str(site.in_g2),
            "99999999",
        )
        move = {"to": "in_progress", "actor": "王芳"}
        assert_problem(http.post(f"/v1/incidents/{site.in_g2}/transitions", json=move), 404, "id")
        same(
            http.get("/ogc/collections/micro_grid/items/M2"),
            http.get("/ogc/collections/micro_grid/items/NOPE"),
            "M2",
            "NOPE",
        )
        same(http.get("/maps/grid/M2"), http.get("/maps/grid/NOPE"), "M2", "NOPE")
        assert http.get("/maps/grid/M1").status_code == 200
        # Open311 answers errors in its own format (a list of {code, description})
        outside = http.get(f"/open311/v2/requests/{site.in_g2}.json")
        unknown = http.get("/open311/v2/requests/99999999.json")
        assert outside.status_code == unknown.status_code == 404
        assert outside.text.replace(str(site.in_g2), "X") == unknown.text.replace("99999999", "X")
    with site.client("official@G1") as http:
        same(
            http.get("/v1/coverage", params={"area": "G2"}),
            http.get("/v1/coverage", params={"area": "NOPE"}),
            "G2",
            "NOPE",
        )


def test_scoped_assignment_sees_only_its_areas(site: Site) -> None:
    with site.client("integration@G1") as http:
        inside = http.get("/v1/assign", params=IN_M1).json()
        assert inside["owner"]["code"] == "M1" and inside["staff"]
        outside = http.get("/v1/assign", params=IN_M2).json()
        assert outside["owner"] is None and outside["staff"] == []
        batch = http.post("/v1/assign/batch", json={"points": [IN_M1, IN_M2]}).json()
        assert [r["owner"] for r in batch["results"]] == ["M1", None]
        assert set(batch["areas"]) == {"M1"}


def test_reporter_phones_are_masked_and_unmasked_reads_audited(site: Site) -> None:
    path = f"/v1/incidents/{site.in_g1}"
    for role in ("official", "field_worker"):
        with site.client(role) as http:
            reporter = http.get(path).json()["properties"]["reporter"]
            assert reporter["phone"] == "138****5678"
            listed = http.get("/v1/incidents").json()["features"]
            assert {f["properties"]["reporter"]["phone"] for f in listed} == {"138****5678"}
    with site.client("admin") as http:
        assert http.get(path).json()["properties"]["reporter"]["phone"] == PHONE
        entries = http.get("/v1/audit", params={"action": "read_unmasked"}).json()["entries"]
    assert entries[0]["target"] == f"incident/{site.in_g1}"
    assert entries[0]["role"] == "admin" and entries[0]["client"] == "127.0.0.1"


def test_writes_are_audited(site: Site) -> None:
    with site.client("field_worker") as http:
        moved = http.post(f"/v1/incidents/{site.in_g1}/transitions", json={"to": "in_progress"})
    assert moved.status_code == 200, moved.text
    with site.client("integration") as http:
        created = http.post("/v1/incidents", json=incident_body(IN_M1, "access-audit"))
    assert created.status_code == 201
    with site.client("admin") as http:
        log = http.get("/v1/audit").json()
    actions = [(e["action"], e["target"], e["role"]) for e in log["entries"]]
    assert ("incident.transition", f"incident/{site.in_g1}", "field_worker") in actions
    assert ("incident.create", f"incident/{created.json()['id']}", "integration") in actions
    newest = log["entries"][0]
    assert newest["key_id"] and newest["at"] and newest["client"] == "127.0.0.1"
    with site.client("official") as http:
        assert_problem(http.get("/v1/audit"), 403, "role")


def test_sign_in_cookie_opens_pages_and_writes_only_with_its_token(site: Site) -> None:
    with httpx.Client(base_url=site.live.url, timeout=60) as browser:
        page = browser.get("/maps/overview", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=")
        form = browser.get(page.headers["location"])
        assert form.status_code == 200 and 'name="key"' in form.text
        wrong = sign_in(browser, "wg_wrong", "/maps/overview")
        assert wrong.status_code == 401 and "not valid" in wrong.text
        signed = sign_in(browser, site.keys["official"], "https://evil.example/")
        assert signed.status_code == 303 and signed.headers["location"] == "/maps/"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert site.keys["official"].lower() not in cookie  # a random session token, not the key
        copied = browser.cookies["wangge_session"]
        assert browser.get("/maps/overview").status_code == 200
        assert browser.get("/v1/me").json()["role"] == "official"
        write = browser.post("/v1/incidents", json=incident_body(IN_M1, "via-cookie"))
        assert_problem(write, 403, "X-CSRF-Token")  # a cookie alone never authorises a write
        token = csrf_token(browser)
        browser.post("/signout", data={"csrf_token": token})
        assert_problem(browser.get("/v1/me"), 401)
    with httpx.Client(
        base_url=site.live.url, timeout=30, cookies={"wangge_session": copied}
    ) as thief:
        assert_problem(thief.get("/v1/me"), 401, "cookie")  # sign-out ended it everywhere


def test_openapi_declares_security_on_every_operation(site: Site) -> None:
    doc = httpx.get(f"{site.live.url}/openapi.json").json()
    open_paths = {"/", "/healthz", "/signin"}
    schemes = doc["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer", "APIKeyCookie"} <= set(schemes)
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)
            if path in open_paths:
                continue
            assert operation.get("security"), f"{method.upper()} {path} has no security"
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_rate_limit_answers_429_with_retry_after(site: Site, tmp_path: Path) -> None:
    settings = Settings(database_url=site.url, rate_limit_per_second=0.5, rate_limit_burst=2)
    with LiveServer(settings, key=site.keys["official"]) as live, live.client() as http:
        answers = [http.get("/v1/me") for _ in range(4)]
    assert [a.status_code for a in answers[:2]] == [200, 200]
    limited = assert_problem(answers[2], 429, "rate_limit")
    assert "WANGGE_RATE_LIMIT_PER_SECOND" in limited["detail"]
    assert int(answers[2].headers["retry-after"]) >= 1


def test_public_setting_allows_anonymous_maps_and_assignment(site: Site) -> None:
    settings = Settings(database_url=site.url, public_access=True)
    with (
        LiveServer(settings, key=site.keys["admin"]) as live,
        httpx.Client(base_url=live.url, timeout=60) as anonymous,
    ):
        answer = anonymous.get("/v1/assign", params=IN_M1)
        assert answer.status_code == 200
        phones = {s["phone"] for s in answer.json()["staff"]}
        assert phones and all("****" in p for p in phones)
        assert anonymous.get("/maps/overview").status_code == 200
        assert_problem(anonymous.get("/v1/areas"), 401)
        assert_problem(anonymous.get("/v1/incidents"), 401)
        body = incident_body(IN_M1, "anonymous")
        assert_problem(anonymous.post("/v1/incidents", json=body), 401)
    with site.client(None) as http:  # off by default
        assert_problem(http.get("/v1/assign", params=IN_M1), 401)


def test_scoped_intake_refuses_places_outside_the_scope(site: Site) -> None:
    with site.client("integration@G1") as http:
        inside = http.post("/v1/incidents", json=incident_body(IN_M1, "scoped-in"))
        assert inside.status_code == 201 and inside.json()["properties"]["owner"]["code"] == "M1"
        outside = http.post("/v1/incidents", json=incident_body(IN_M2, "scoped-out"))
        assert "outside your scope" in assert_problem(outside, 422, "lon")["detail"]
        batch = http.post(
            "/v1/incidents/batch",
            json={"incidents": [incident_body(IN_M2, "b-out"), incident_body(IN_M1, "b-in")]},
        ).json()
    assert batch["created"] == 1 and batch["errors"] == 1
    assert batch["results"][0]["error"]["field"] == "lon" and batch["results"][1]["created"]
    with site.client("admin") as http:
        stored = http.get("/v1/incidents", params={"limit": 1000}).json()["features"]
    external = {f["properties"]["external_id"] for f in stored}
    assert {"scoped-in", "b-in"} <= external and not {"scoped-out", "b-out"} & external


@pytest.mark.parametrize(
    "cookie",
    ["abcdefghij.\u00b2.x", "abcdefghij." + "9" * 5000 + ".x", "abcdefghij.4102444800.\u00e9"],
)
def test_malformed_session_cookies_are_401_not_500(site: Site, cookie: str) -> None:
    with httpx.Client(base_url=site.live.url, timeout=30) as browser:
        answer = browser.get("/v1/me", headers={"cookie": f"wangge_session={cookie}".encode()})
    assert_problem(answer, 401, "cookie")


def test_a_session_ends_at_its_expiry_and_with_its_key(site: Site) -> None:
    """The session lives in the database: an expired row or a revoked key signs nobody in."""
    key = create_api_key(site.url, "official")
    engine = make_engine(site.url)
    try:
        with httpx.Client(base_url=site.live.url, timeout=30) as browser:
            assert sign_in(browser, key).status_code == 303
            assert browser.get("/v1/me").status_code == 200
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "UPDATE sessions SET expires_at = now() - interval '1 second' "
                        "WHERE key_id = :k"
                    ),
                    {"k": key.split("_")[1]},
                )
            assert_problem(browser.get("/v1/me"), 401, "cookie")
        with httpx.Client(base_url=site.live.url, timeout=30) as browser:
            assert sign_in(browser, key).status_code == 303
            with engine.begin() as conn:
                revoke_key(conn, key.split("_")[1])
            assert_problem(browser.get("/v1/me"), 401, "cookie")
    finally:
        engine.dispose()


def test_a_repeated_external_id_tells_nothing_to_who_may_not_read_it(site: Site) -> None:
    """Intake is idempotent by external_id, but a caller whose scope does not hold the stored
    incident (another integration key, a key scoped elsewhere) learns only that it is
    stored, not what; the key that submitted it reads it back."""
    other = create_api_key(site.url, "integration")
    for key in (other, site.keys["integration@G1"]):
        with httpx.Client(base_url=site.live.url, headers={"X-API-Key": key}) as http:
            again = http.post("/v1/incidents", json=incident_body(IN_M2, "access-2"))
        assert again.status_code == 200, again.text
        properties = again.json()["properties"]
        assert again.json()["id"] == site.in_g2 and "reporter" not in properties
        assert "description" not in properties and again.json()["geometry"] is None
    with site.client("integration") as http:  # the key that submitted it
        own = http.post("/v1/incidents", json=incident_body(IN_M2, "access-2")).json()
    assert own["properties"]["description"] == "垃圾堆放"
    with site.client("admin") as http:
        full = http.post("/v1/incidents", json=incident_body(IN_M2, "access-2")).json()
    assert full["properties"]["description"] == "垃圾堆放"


def test_a_field_worker_cannot_move_an_incident_out_of_her_scope(site: Site) -> None:
    body = {**IN_M2}  # the actor is the key's holder
    with site.client("field_worker@G1") as http:
        moved = http.post(f"/v1/incidents/{site.in_g1}/location", json=body)
    assert "outside your scope" in assert_problem(moved, 422, "lon")["detail"]


def test_wrong_keys_are_throttled_but_good_keys_are_not(site: Site) -> None:
    # a server of its own: the throttle is per worker, and must not hold up the other tests
    settings = Settings(database_url=site.url)
    with LiveServer(settings, key=site.keys["official"]) as live, live.client() as good:
        assert good.get("/v1/me").status_code == 200  # remembered by this worker
        bad = {"X-API-Key": site.keys["official"][:-4] + "AAAA"}
        statuses = [good.get("/v1/me", headers=bad).status_code for _ in range(25)]
        assert statuses[:20] == [401] * 20 and 429 in statuses[20:]
        throttled = good.get("/v1/me", headers=bad)
        assert_problem(throttled, 429, "X-API-Key")
        assert int(throttled.headers["retry-after"]) >= 1
        assert good.get("/v1/me").status_code == 200


def test_map_pages_and_tiles_keep_to_the_scope(site: Site) -> None:
    """Pages are drawn by the hierarchy, not by whatever touches the scope's boundary."""
    with site.client("official@G1") as http:
        page = http.get("/maps/overview").text
        assert '"code":"M1"' in page and '"code":"M3"' in page
        assert '"code":"M2"' not in page and '"code":"G2"' not in page
        assert '"code":"S"' not in page
        incident_page = http.get(f"/maps/incident/{site.in_g2}")
        assert_problem(incident_page, 404, "id")
    # building B1 straddles M1/M2 (south half of the street): nothing of it is in M3
    tile = "/tiles/buildings/{}/{}/{}.pbf".format(*tile_of(X0 + HALF, Y0 + 0.00225, 16))
    with site.client("admin") as http:
        everything = http.get(tile).content
    scoped_key = create_api_key(site.url, "official", "M3")
    with httpx.Client(base_url=site.live.url, headers={"X-API-Key": scoped_key}) as http:
        scoped = http.get(tile)
    assert len(everything) > 0 and scoped.status_code == 200 and scoped.content == b""


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ (Web Mercator) tile holding a point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def test_anonymous_visitors_see_no_incident_points(site: Site) -> None:
    settings = Settings(database_url=site.url, public_access=True)
    with (
        LiveServer(settings, key=site.keys["admin"]) as live,
        httpx.Client(base_url=live.url, timeout=60) as anonymous,
    ):
        page = anonymous.get("/maps/overview").text
        assert "垃圾堆放" not in page  # incident descriptions
        assert_problem(anonymous.get("/tiles/incidents/14/13717/6694.pbf"), 401)
        with live.client() as admin:
            assert "垃圾堆放" in admin.get("/maps/overview").text


def test_duplicate_links_stay_inside_the_scope(site: Site) -> None:
    path = f"/v1/incidents/{site.in_g1}/duplicate"
    with site.client("field_worker@G1") as http:
        outside = http.post(path, json={"of": site.in_g2})
        unknown = http.post(path, json={"of": 99999999})
    a, b = assert_problem(outside, 422, "of"), assert_problem(unknown, 422, "of")
    assert a["detail"].replace(str(site.in_g2), "X") == b["detail"].replace("99999999", "X")
