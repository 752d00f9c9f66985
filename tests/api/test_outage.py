"""The database going away under a running API, on a managed cluster of the test's own:
no 500 anywhere, 503 problem+json with Retry-After where the database is needed, assignment
still answered from memory (roster marked stale), and recovery without restarting the API."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gis.geocode.store import import_addresses
from gis.settings import Settings
from gis.store.cluster import Cluster
from gis.store.db import make_engine
from gis.store.migrate import upgrade
from tests.conftest import ROOT, LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, load_small_street

POINT = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
CHECK_SECONDS = 0.2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = ROOT / ".wangge" / f"test-outage-{uuid.uuid4().hex[:8]}"
    made = Cluster(home)
    engine = make_engine(made.start())
    upgrade(engine)
    load_small_street(engine, tmp_path_factory.mktemp("outage"))
    engine.dispose()
    yield made
    made.destroy()
    shutil.rmtree(home, ignore_errors=True)


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def assert_unavailable(response: httpx.Response, port: int) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == 503 and body["field"] == "database"
    assert "127.0.0.1" not in response.text and str(port) not in response.text


def test_database_outage_and_recovery(cluster: Cluster, tmp_path: Path) -> None:
    settings = Settings(database_url=cluster.url(), index_check_seconds=CHECK_SECONDS)
    port = cluster.status().port
    assert port is not None
    with LiveServer(settings) as live, live.client(timeout=30) as http:
        before = http.get("/v1/assign", params=POINT).json()
        assert before["owner"]["code"] == "M1" and before["roster_stale"] is False
        assert [s["code"] for s in before["staff"]] == ["P1", "P2"]
        assert http.get("/v1/areas").status_code == 200

        cluster.stop()
        time.sleep(CHECK_SECONDS * 2)

        answer = http.get("/v1/assign", params=POINT)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["owner"]["code"] == "M1" and [s["code"] for s in body["staff"]] == [
            "P1",
            "P2",
        ]
        assert body["roster_stale"] is True and "unreachable" in body["roster_note"]
        batch = http.post("/v1/assign/batch", json={"points": [POINT, {"lon": "x", "lat": 1}]})
        assert batch.status_code == 200 and batch.json()["results"][0]["owner"] == "M1"
        for path in ("/healthz", "/v1/areas", "/v1/areas/M1"):
            assert_unavailable(http.get(path), port)
        # a generation the worker has not indexed needs the database
        assert_unavailable(http.get("/v1/assign", params={**POINT, "generation": 7}), port)

        cluster.start()
        wait_for(lambda: http.get("/healthz").status_code == 200)
        assert http.get("/v1/areas").json()["numberMatched"] == 7
        assert http.get("/v1/areas/M1").status_code == 200
        wait_for(lambda: http.get("/v1/assign", params=POINT).json()["roster_stale"] is False)


def test_api_starts_while_the_database_is_away(cluster: Cluster, tmp_path: Path) -> None:
    """The lifespan builds the index and the gazetteer when it can; with the database away
    it still starts (503 where the database is needed) and builds them once it is back."""
    settings = Settings(database_url=cluster.url(), index_check_seconds=CHECK_SECONDS)
    port = cluster.status().port
    assert port is not None
    key = create_api_key(cluster.url())  # LiveServer cannot make one with the database away
    cluster.stop()
    try:
        with LiveServer(settings, key=key) as live, live.client(timeout=30) as http:
            assert_unavailable(http.get("/healthz"), port)
            assert_unavailable(http.get("/v1/geocode", params={"address": "测试路1号"}), port)
            cluster.start()
            wait_for(lambda: http.get("/healthz").status_code == 200)
            found = http.get("/v1/geocode", params={"address": "测试路1号"})
            assert found.status_code == 200 and found.json()["match_level"] == "none"
            (tmp_path / "a.csv").write_text("address,lon,lat\n测试路1号,121.3925,31.2425\n")
            engine = make_engine(cluster.url())
            with engine.begin() as conn:
                import_addresses(conn, tmp_path / "a.csv", address_field="address")
            engine.dispose()

            def located() -> bool:  # the gazetteer is rebuilt from the new addresses
                answer = http.get("/v1/geocode", params={"address": "测试路1号"}).json()
                return answer["match_level"] == "number" and answer["owner"]["code"] == "M1"

            wait_for(located)
    finally:
        if cluster.status().port is None:
            cluster.start()


def test_any_key_is_checked_with_the_database_away(cluster: Cluster) -> None:
    """Issue 22 L: every worker holds every key's verifier, so a key this worker has never
    seen before still gets its answer from memory while the database is stopped (and a wrong
    one its 401), instead of a 503 that depends on which worker took the request."""
    settings = Settings(database_url=cluster.url(), index_check_seconds=CHECK_SECONDS)
    other = create_api_key(cluster.url(), role="official")
    with LiveServer(settings) as live:
        cluster.stop()
        try:
            time.sleep(CHECK_SECONDS * 2)
            with live.client(key=other) as http:
                answer = http.get("/v1/assign", params=POINT)
                assert answer.status_code == 200, answer.text
                assert answer.json()["owner"]["code"] == "M1"
            wrong = other[:-4] + ("AAAA" if not other.endswith("AAAA") else "BBBB")
            with live.client(key=wrong) as http:
                assert http.get("/v1/assign", params=POINT).status_code == 401
        finally:
            cluster.start()
