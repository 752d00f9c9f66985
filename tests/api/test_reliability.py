"""Reliability under load (issue 16), on a managed cluster of the module's own (stopping it
never touches the shared cluster): intake during a database outage answers 503 with
Retry-After and retries with the same external_id store exactly one incident, also when they
race; an index reload under concurrent requests answers wholly from one generation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.areas.generations import activate
from gis.areas.importer import import_areas
from gis.areas.reading import read_area_file
from gis.incidents.categories import DEFAULT_FILE, ensure_categories, import_categories
from gis.settings import Settings
from gis.store.cluster import Cluster
from gis.store.db import make_engine
from tests.api import test_outage
from tests.api.test_incidents_http import incident
from tests.api.test_outage import CHECK_SECONDS, assert_unavailable, wait_for
from tests.conftest import ROOT, LiveServer, create_api_key, free_port
from tests.fixtures import HALF, X0, Y0, load_small_street, redraw_micro_grids

# test_outage's fixture: a cluster of this module's own with the small street loaded
cluster = test_outage.cluster


@pytest.fixture(scope="module")
def engine(cluster: Cluster) -> Iterator[Engine]:
    """The module's own cluster (test_outage's fixture: the small street loaded), with the
    shipped incident categories."""
    eng = make_engine(cluster.url())
    with eng.begin() as conn:
        ensure_categories(conn)
    yield eng
    eng.dispose()


def rows_of(engine: Engine, external_id: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT id FROM incidents WHERE external_id = :e"), {"e": external_id}
            ).scalars()
        )


def test_intake_during_an_outage_is_503_and_retries_store_once(
    cluster: Cluster, engine: Engine
) -> None:
    settings = Settings(database_url=cluster.url(), index_check_seconds=CHECK_SECONDS)
    port = cluster.status().port
    assert port is not None
    before, during = f"before-{uuid.uuid4().hex[:6]}", f"during-{uuid.uuid4().hex[:6]}"
    with LiveServer(settings) as live, live.client(timeout=30) as http:
        accepted = http.post("/v1/incidents", json=incident(external_id=before))
        assert accepted.status_code == 201, accepted.text
        cluster.stop()
        try:
            time.sleep(CHECK_SECONDS * 2)
            for external_id in (during, before):  # a new one and a retry of an accepted one
                assert_unavailable(
                    http.post("/v1/incidents", json=incident(external_id=external_id)), port
                )
            batch = http.post(
                "/v1/incidents/batch", json={"incidents": [incident(external_id=during)]}
            )
            assert_unavailable(batch, port)
        finally:
            cluster.start()
        # the client retries (as Retry-After says) with the same body until answered
        first = None
        deadline = time.monotonic() + 30
        while first is None or first.status_code == 503:
            assert time.monotonic() < deadline, "intake did not recover"
            time.sleep(0.2)
            first = http.post("/v1/incidents", json=incident(external_id=during))
        assert first.status_code == 201, first.text
        again = http.post("/v1/incidents", json=incident(external_id=during))
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        replay = http.post("/v1/incidents", json=incident(external_id=before))
        assert replay.status_code == 200 and replay.json()["id"] == accepted.json()["id"]
    # accepted before the outage: kept; sent during it: stored once; nothing doubled
    assert rows_of(engine, before) == [accepted.json()["id"]]
    assert rows_of(engine, during) == [first.json()["id"]]


def test_racing_retries_of_one_external_id_make_one_incident(
    cluster: Cluster, engine: Engine
) -> None:
    settings = Settings(database_url=cluster.url())
    body = incident(external_id=f"race-{uuid.uuid4().hex[:6]}")
    threads = 12
    barrier = threading.Barrier(threads)
    with LiveServer(settings) as live:

        def post(_: int) -> httpx.Response:
            with live.client(timeout=60) as http:
                barrier.wait()
                return http.post("/v1/incidents", json=body)

        with ThreadPoolExecutor(threads) as pool:
            answers = list(pool.map(post, range(threads)))
        # a batch carrying the same external_id twice, racing nothing: one row, both answered
        with live.client() as http:
            twice = http.post("/v1/incidents/batch", json={"incidents": [body, body]})
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (threads - 1) + [201], [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    assert rows_of(engine, str(body["external_id"])) == list(ids)
    assert twice.status_code == 200, twice.text
    results = twice.json()["results"]
    assert [r["id"] for r in results] == [*ids, *ids] and twice.json()["created"] == 0


def test_index_reload_under_concurrent_requests_is_all_old_or_all_new(
    tmp_path: Path,
    new_database: object,
) -> None:
    """While a new generation is imported and activated, concurrent /v1/assign and batch
    answers each come wholly from generation 1 (M2 for the point) or wholly from
    generation 2 (M1, chained to G1): never a mix, never an error."""
    url = new_database()  # type: ignore[operator]
    eng = make_engine(url)
    load_small_street(eng, tmp_path)
    point = {"lon": X0 + HALF * 1.5, "lat": Y0 + HALF / 2}
    expected = {1: ("M2", ["S", "G2", "M2"]), 2: ("M1", ["S", "G1", "M1"])}
    seen: dict[int, int] = {}
    problems: list[str] = []
    stop = threading.Event()
    with LiveServer(Settings(database_url=url, index_check_seconds=0.0)) as live:

        def hammer() -> None:
            with live.client(timeout=60) as http:
                while not stop.is_set():
                    one = http.get("/v1/assign", params=point)
                    many = http.post("/v1/assign/batch", json={"points": [point] * 20})
                    if one.status_code != 200 or many.status_code != 200:
                        problems.append(f"{one.status_code} {many.status_code} {one.text}")
                        continue
                    body = one.json()
                    generation = body["generation"]
                    seen[generation] = seen.get(generation, 0) + 1
                    chain = [a["code"] for a in body["chain"]]
                    if (body["owner"]["code"], chain) != expected.get(generation):
                        problems.append(f"generation {generation}: {body['owner']} {chain}")
                    batch = many.json()
                    owners = {r["owner"] for r in batch["results"]}
                    if owners != {expected[batch["generation"]][0]}:
                        problems.append(f"batch generation {batch['generation']}: {owners}")

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        try:
            wait_for(lambda: seen.get(1, 0) >= 20)
            source = read_area_file(
                redraw_micro_grids(tmp_path),
                code_field="code",
                name_field="name",
                parent_field="parent_code",
            )
            with eng.begin() as conn:
                import_areas(conn, source, level="micro_grid")
            time.sleep(0.3)  # imported, not active: still generation 1 everywhere
            with eng.begin() as conn:
                activate(conn)
            wait_for(lambda: seen.get(2, 0) >= 20)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=60)
    eng.dispose()
    assert problems == []
    assert seen[1] >= 20 and seen[2] >= 20


def test_sigterm_to_wangge_serve_drains_a_request_in_flight(
    new_database: object, tmp_path: Path
) -> None:
    """``wangge serve --workers 2`` asked to stop (SIGTERM, as systemd or Docker do) while
    an intake waits on a table lock: the request is answered 201 and stored, then the server
    exits cleanly."""
    url = new_database()  # type: ignore[operator]
    eng = make_engine(url)
    load_small_street(eng, tmp_path)
    with eng.begin() as conn:
        import_categories(conn, DEFAULT_FILE)
    key = create_api_key(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "WANGGE_DATABASE_URL": url}
    wangge = Path(sys.executable).parent / "wangge"
    command = [str(wangge), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    locker = eng.connect()
    try:
        wait_for(lambda: _healthy(base), timeout=600)
        lock = locker.begin()
        locker.execute(text("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE"))
        body = incident(external_id=f"drain-{uuid.uuid4().hex[:6]}")
        answers: list[httpx.Response] = []

        def post() -> None:
            answers.append(
                httpx.post(
                    base + "/v1/incidents", json=body, headers={"X-API-Key": key}, timeout=60
                )
            )

        poster = threading.Thread(target=post)
        poster.start()
        wait_for(lambda: bool(_waiting_pids(eng, "incidents")))  # the insert is in flight, blocked
        server.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert server.poll() is None, "the server exited with a request in flight"
        lock.rollback()  # the insert goes on
        poster.join(timeout=60)
        assert len(answers) == 1 and answers[0].status_code == 201, answers
        assert server.wait(timeout=60) == 0
        assert rows_of(eng, str(body["external_id"])) == [answers[0].json()["id"]]
    finally:
        locker.close()
        if server.poll() is None:
            server.kill()
            server.wait()
        eng.dispose()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_connection_lost_in_the_middle_of_a_batch_is_503_and_the_retry_stores_it_once(
    cluster: Cluster, engine: Engine
) -> None:
    """The database connection dies while a 60-incident batch is being written (its events'
    COPY waits on a lock; the backend is then terminated): 503 with Retry-After, nothing half
    written, and the same batch again stores every incident exactly once."""
    settings = Settings(database_url=cluster.url())
    tag = f"cut-{uuid.uuid4().hex[:6]}"
    batch = {"incidents": [incident(external_id=f"{tag}-{k}") for k in range(60)]}
    answers: list[httpx.Response] = []
    with LiveServer(settings) as live, live.client(timeout=60) as http, engine.connect() as locker:
        lock = locker.begin()
        locker.execute(text("LOCK TABLE incident_events IN SHARE ROW EXCLUSIVE MODE"))
        poster = threading.Thread(
            target=lambda: answers.append(http.post("/v1/incidents/batch", json=batch))
        )
        poster.start()
        wait_for(lambda: bool(_waiting_pids(engine, "incident_events")))
        with engine.connect() as admin:
            for pid in _waiting_pids(engine, "incident_events"):
                admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        poster.join(timeout=60)
        lock.rollback()
        [cut] = answers
        assert cut.status_code == 503, cut.text
        assert int(cut.headers["retry-after"]) > 0 and cut.json()["field"] == "database"
        assert _stored(engine, tag) == 0  # nothing half-written
        first = http.post("/v1/incidents/batch", json=batch)
        assert first.status_code == 200 and first.json()["created"] == 60, first.text
        again = http.post("/v1/incidents/batch", json=batch)
        assert again.status_code == 200 and again.json()["created"] == 0
        assert [r["id"] for r in again.json()["results"]] == [
            r["id"] for r in first.json()["results"]
        ]
    assert _stored(engine, tag) == 60


def _waiting_pids(engine: Engine, table: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :t AND NOT l.granted"
                ),
                {"t": table},
            ).scalars()
        )


def _stored(engine: Engine, tag: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM incidents WHERE external_id LIKE :t"), {"t": tag + "-%"}
            ).scalar_one()
        )
