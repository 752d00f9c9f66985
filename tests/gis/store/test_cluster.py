"""The managed cluster: first start initialises, start is idempotent, a crash's stale pid
file is recovered from, stop stops. Uses its own folder (a second, short-lived cluster)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from gis.store.cluster import PORT_RANGE_START, Cluster, _ephemeral_start, _port_is_free
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # inside the project (not /tmp, which the unprivileged server user may not reach)
    home = ROOT / ".wangge" / f"test-cluster-{uuid.uuid4().hex[:8]}"
    made = Cluster(home)
    yield made
    made.stop()
    shutil.rmtree(home, ignore_errors=True)


def query(url: str) -> str:
    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
    ) as conn:
        row = conn.execute("SELECT current_user || ' ' || current_database()").fetchone()
        assert row is not None
        return str(row[0])


def test_first_start_initialises_and_serves(cluster: Cluster) -> None:
    messages: list[str] = []
    url = cluster.start(progress=messages.append)
    assert any("initialising" in m for m in messages)
    assert query(url) == "wangge wangge"
    status = cluster.status()
    assert status.running and status.initialised and status.pid is not None
    assert (cluster.state_file.stat().st_mode & 0o777) == 0o600
    if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs unprivileged
        assert cluster.data_dir.stat().st_uid != 0


def test_start_is_idempotent(cluster: Cluster) -> None:
    first = cluster.start()
    pid = cluster.status().pid
    messages: list[str] = []
    assert cluster.start(progress=messages.append) == first
    assert cluster.status().pid == pid and messages == []


def test_recovers_from_a_crash_with_stale_pid_file(cluster: Cluster) -> None:
    cluster.start()
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid_file = cluster.data_dir / "postmaster.pid"
    assert pid_file.exists()  # the crash left it behind
    # make it point at a live process that is not PostgreSQL (pid reuse after a reboot)
    lines = pid_file.read_text().splitlines()
    lines[0] = str(os.getpid())
    pid_file.write_text("\n".join(lines) + "\n")
    assert not cluster.status().running
    messages: list[str] = []
    url = cluster.start(progress=messages.append)
    assert any("stale" in m for m in messages)
    assert query(url) == "wangge wangge"


def test_stop_then_status(cluster: Cluster) -> None:
    cluster.start()
    assert cluster.stop() is True
    assert not cluster.status().running
    assert cluster.stop() is False


def test_port_is_outside_the_ephemeral_range(cluster: Cluster) -> None:
    """Outgoing connections take local ports from the ephemeral range: a cluster port there can
    be handed to one while the cluster is stopped, and the restart then moves to another port
    (away from the URL a running API holds)."""
    cluster.start()
    port = cluster.status().port
    assert port is not None and PORT_RANGE_START <= port < _ephemeral_start()


def test_time_wait_does_not_make_a_port_taken() -> None:
    """A stopped server's side of its closed connections lingers in TIME_WAIT; like
    PostgreSQL's own bind, the probe must not count that as taken."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL does
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    assert _port_is_free(port) is False  # listening
    served.close()  # the server side closes first: it goes to TIME_WAIT
    time.sleep(0.1)
    client.close()
    listener.close()
    assert _port_is_free(port) is True


def test_private_clone_folder(tmp_path: Path) -> None:
    """A home inside a 0700 folder (``/root/wangge``, ``mktemp -d``): as root the unprivileged
    server user cannot reach it, so the server's files go to a system folder; either way the
    cluster starts, answers, and ``destroy`` removes every file."""
    private = tmp_path / f"private-{uuid.uuid4().hex[:6]}"
    private.mkdir(mode=0o700)
    home = private / "clone" / ".wangge"
    cluster = Cluster(home)
    messages: list[str] = []
    try:
        url = cluster.start(progress=messages.append)
        assert query(url) == "wangge wangge"
        if os.geteuid() == 0:
            assert any("cannot reach" in m for m in messages)
            assert cluster.data_dir.is_relative_to(Path("/var/lib/wangge"))
            assert cluster.data_dir.stat().st_uid != 0
        else:
            assert cluster.data_dir == home / "pgdata"
        server_root = cluster.data_dir.parent
    finally:
        cluster.destroy()
    assert not home.exists() and not server_root.exists()
