"""Several API hosts over one primary and one streaming replica (issue 28): two API processes
on different ports, the managed cluster as primary and ``wangge db replica`` (a
``pg_basebackup -R`` hot standby) as replica."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.replicas import APPLICATION_NAME
from gis.settings import Settings
from gis.store.db import make_engine, managed_cluster
from gis.store.replica import ReplicaCluster
from tests.conftest import ROOT, create_api_key, free_port
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

POINT = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}


@dataclass
class Host:
    url: str
    proc: subprocess.Popen[bytes]


@dataclass
class Deployment:
    primary_url: str
    replica_url: str
    standby: ReplicaCluster
    hosts: list[Host]
    writer: str  # a key that writes
    reader: str  # a key that only reads


def start_host(primary: str, replica: str) -> Host:
    port = free_port()
    env = {
        **os.environ,
        "WANGGE_DATABASE_URL": primary,
        "WANGGE_DATABASE_REPLICA_URLS": replica,
        "WANGGE_REPLICA_MAX_LAG_SECONDS": "5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        assert proc.poll() is None, "the API host exited"
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Host(url, proc)
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the API host did not start"
        time.sleep(0.2)


def replica_database(replica_cluster_url: str, database: str) -> str:
    return make_url(replica_cluster_url).set(database=database).render_as_string(False)


@pytest.fixture(scope="module")
def deployment(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    primary = new_database()
    small_street_with_categories(primary, tmp_path_factory.mktemp("replicas"))
    writer = create_api_key(primary, role="admin")
    reader = create_api_key(primary, role="admin")
    standby = ReplicaCluster(managed_cluster(Settings()))
    replica = replica_database(standby.start(), make_url(primary).database or "")
    # the standby has the new database (and its data) once it has replayed the WAL
    engine = make_engine(replica)
    deadline = time.monotonic() + 60
    while True:
        try:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 2:
                    break
        except Exception:
            pass
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.2)
    engine.dispose()
    hosts = [start_host(primary, replica), start_host(primary, replica)]
    try:
        yield Deployment(primary, replica, standby, hosts, writer, reader)
    finally:
        for host in hosts:
            if host.proc.poll() is None:
                host.proc.terminate()
                host.proc.wait(timeout=60)
        standby.start()  # leave it running for the next test module that wants it


def client(host: Host, key: str) -> httpx.Client:
    return httpx.Client(base_url=host.url, headers={"X-API-Key": key}, timeout=30)


def test_a_write_on_one_host_is_read_back_on_the_other(deployment: Deployment) -> None:
    a, b = deployment.hosts
    with client(a, deployment.writer) as http_a, client(b, deployment.writer) as http_b:
        created = http_a.post(
            "/v1/incidents", json={"category": "garbage", "source": "hotline", **POINT}
        )
        assert created.status_code == 201, created.text
        ident = created.json()["id"]
        again = http_b.get(f"/v1/incidents/{ident}")
        assert again.status_code == 200 and again.json()["id"] == ident
        # the writer's own statistics come from the primary, so they count the new incident
        stats = http_b.get("/v1/stats")
        assert stats.status_code == 200
        assert stats.headers["x-wangge-read-from"].startswith("primary; own")


def test_stats_and_ogc_read_from_the_replica(deployment: Deployment) -> None:
    _, b = deployment.hosts
    with client(b, deployment.reader) as http:
        for path in ("/v1/stats", "/ogc/collections/micro_grid/items"):
            answer = http.get(path)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-wangge-read-from"] == "replica", path
            assert 0 <= float(answer.headers["x-wangge-replica-lag"]) <= 5
    # and the replica itself shows the API's connections to this database
    engine = make_engine(deployment.replica_url)
    try:
        with engine.connect() as conn:
            seen = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            ).scalar()
    finally:
        engine.dispose()
    assert seen and seen > 0


def test_replica_stopped_reads_fall_back_to_the_primary(deployment: Deployment) -> None:
    a, b = deployment.hosts
    assert deployment.standby.stop()
    try:
        for host in (a, b):
            with client(host, deployment.reader) as http:
                for path in ("/v1/stats", "/ogc/collections/micro_grid/items", "/v1/stats"):
                    answer = http.get(path)
                    assert answer.status_code == 200, answer.text
                    assert answer.headers["x-wangge-read-from"] == "primary"
    finally:
        deployment.standby.start()
    # back: reads return to the replica once it answers again
    with client(b, deployment.reader) as http:
        deadline = time.monotonic() + 30
        while http.get("/v1/stats").headers["x-wangge-read-from"] != "replica":
            assert time.monotonic() < deadline, "reads never returned to the replica"
            time.sleep(0.5)


def test_one_host_killed_the_other_keeps_answering(deployment: Deployment) -> None:
    a, b = deployment.hosts
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(timeout=30)
    with pytest.raises(httpx.TransportError), client(a, deployment.reader) as http:
        http.get("/healthz")
    with client(b, deployment.reader) as http:
        assert http.get("/v1/assign", params=POINT).json()["owner"]["code"] == "M1"
        assert http.get("/v1/stats").status_code == 200
        created = http.post(
            "/v1/incidents", json={"category": "garbage", "source": "hotline", **POINT}
        )
        assert created.status_code == 201


def test_the_replica_is_a_streaming_standby(deployment: Deployment) -> None:
    engine = make_engine(deployment.replica_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
            assert conn.execute(text("SELECT status FROM pg_stat_wal_receiver")).scalar() in (
                "streaming",
                "catchup",
            )
    finally:
        engine.dispose()
    assert Path(deployment.standby.data_dir / "standby.signal").exists()
