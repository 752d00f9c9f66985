"""Open311 (issue 26): FixMyStreet's servicerequestupdates from the outbox, paging and
updated_after on requests.json, extensions=true, and an integration key that reads back the
requests it submitted (and no others)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gis.settings import Settings
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import small_street_with_categories

FORM = {"service_code": "garbage", "lat": "31.2425", "long": "121.3925", "description": "垃圾"}


@pytest.fixture(scope="module")
def street(new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = new_database()
    small_street_with_categories(url, tmp_path_factory.mktemp("open311-updates"))
    return url


@pytest.fixture(scope="module")
def live(street: str) -> Iterator[LiveServer]:
    with LiveServer(Settings(database_url=street, webhook_deliver=False)) as server:
        yield server


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(timeout=30) as client:
        yield client


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_updates_paging_updated_after_and_extensions(http: httpx.Client) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = []
    for _ in range(5):
        made = http.post("/open311/v2/requests.json", data=FORM)
        assert made.status_code == 201, made.text
        ids.append(int(made.json()[0]["service_request_id"]))
    moved = http.post(
        f"/v1/incidents/{ids[0]}/transitions", json={"to": "in_progress", "actor": "王芳"}
    )
    assert moved.status_code == 200, moved.text
    updates = http.get(
        "/open311/v2/servicerequestupdates.json",
        params={"start_date": iso(start), "end_date": iso(datetime.now(UTC) + timedelta(1))},
    )
    assert updates.status_code == 200, updates.text
    got = updates.json()
    mine = [u for u in got if int(u["service_request_id"]) in ids]
    assert [int(u["update_id"]) for u in got] == sorted(int(u["update_id"]) for u in got)
    assert {u["event"] for u in mine} >= {"incident.created", "incident.assigned"}
    last = [u for u in mine if u["service_request_id"] == str(ids[0])][-1]
    assert last["detailed_status"] == "in_progress" and last["status"] == "open"
    assert set(last) >= {
        "update_id",
        "service_request_id",
        "status",
        "updated_datetime",
        "description",
        "media_url",
    }
    # paging: pages of 2, newest first, every request once
    pages = [
        http.get("/open311/v2/requests.json", params={"page": p, "page_size": 2}).json()
        for p in (1, 2, 3, 4)
    ]
    seen = [int(r["service_request_id"]) for page in pages for r in page]
    assert sorted(seen) == sorted(set(seen)) and set(ids) <= set(seen)
    assert [len(p) for p in pages[:2]] == [2, 2]
    # updated_after: only what changed since then
    time.sleep(2.5)  # iso() keeps whole seconds: "since" may read up to 1 s earlier
    since = datetime.now(UTC) - timedelta(seconds=0.2)
    assert http.post(
        f"/v1/incidents/{ids[1]}/transitions", json={"to": "in_progress", "actor": "王芳"}
    ).is_success
    changed = http.get(
        "/open311/v2/requests.json", params={"updated_after": iso(since), "extensions": "true"}
    ).json()
    assert [int(r["service_request_id"]) for r in changed] == [ids[1]]
    assert changed[0]["extended_attributes"]["detailed_status"] == "in_progress"
    assert changed[0]["extended_attributes"]["owner_code"] == "M1"
    bad = http.get("/open311/v2/requests.json", params={"page_size": 0})
    assert bad.status_code == 422


def test_an_integration_key_reads_back_only_what_it_submitted(
    street: str, live: LiveServer, http: httpx.Client
) -> None:
    hotline = create_api_key(street, "integration")
    with live.client(key=hotline) as client:
        made = client.post("/open311/v2/requests.json", data=FORM)
        assert made.status_code == 201, made.text
        theirs = made.json()[0]["service_request_id"]
        other = http.post("/open311/v2/requests.json", data=FORM).json()[0]["service_request_id"]
        listed = client.get("/open311/v2/requests.json").json()
        assert [r["service_request_id"] for r in listed] == [theirs]
        assert client.get(f"/open311/v2/requests/{other}.json").status_code == 404
        assert client.get(f"/open311/v2/requests/{theirs}.json").status_code == 200
        updates = client.get("/open311/v2/servicerequestupdates.json").json()
        assert updates and {u["service_request_id"] for u in updates} == {theirs}
        assert [f["id"] for f in client.get("/v1/incidents").json()["features"]] == [int(theirs)]
