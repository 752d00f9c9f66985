"""Issue 22 A against ``wangge serve`` itself: request heads are bounded in size (431 at once)
and in time (408), and four clients sending 100 MB headers leave ``/v1/assign`` as fast as
before for everyone else (loopback only, every loop bounded)."""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, create_api_key, free_port
from tests.fixtures import HALF, X0, Y0, load_small_street

POINT = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}
HEADER_MB = 100
CHUNK = 1 << 20
ATTACKERS = 4
SAMPLES = 400
HEADER_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def served(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """``wangge serve --workers 1`` on the small street: (base URL, admin key)."""
    from gis.store.db import make_engine

    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("edge"))
    engine.dispose()
    key = create_api_key(url)
    port = free_port()
    env = {
        **os.environ,
        "WANGGE_DATABASE_URL": url,
        "WANGGE_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_S),
        "WANGGE_RATE_LIMIT_PER_SECOND": "0",  # one key measures hundreds of requests
    }
    wangge = Path(sys.executable).parent / "wangge"
    command = [str(wangge), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            assert server.poll() is None, "wangge serve exited"
            try:
                if httpx.get(base + "/healthz", headers={"X-API-Key": key}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "wangge serve did not start"
            time.sleep(0.2)
        yield base, key
    finally:
        server.terminate()
        server.wait(timeout=60)


def send_huge_header(port: int) -> tuple[int, float, int]:
    """One request whose header grows to 100 MB, sent as fast as loopback allows until the
    server answers: (status, seconds to the answer, bytes sent)."""
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setblocking(False)
        data = b"GET /v1/assign HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
        chunk = b"a" * CHUNK
        answer = b""
        while time.monotonic() - started < 30:
            readable, writable, _ = select.select(
                [sock], [sock] if sent < HEADER_MB * CHUNK else [], [], 5
            )
            if readable:
                try:
                    part = sock.recv(65536)
                except ConnectionResetError:
                    break
                answer += part
                if not part or b"\r\n\r\n" in answer:
                    break
            elif writable:
                try:
                    sent += sock.send(data or chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                data = b""
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        return status, time.monotonic() - started, sent


def attack(port: int, stop: Any, results: Any) -> None:
    """One attacker process: oversize requests one after another until ``stop`` (at most
    200, each sent as fast as loopback allows); each outcome goes to ``results``. A process
    of its own, so the attackers never share the measuring client's interpreter lock."""
    for _ in range(200):
        if stop.is_set():
            return
        results.put(send_huge_header(port))
        time.sleep(0.02)  # refused at once, it comes straight back (50 new requests/s each)


def test_oversize_headers_are_refused_at_once_and_stall_nobody(served: tuple[str, str]) -> None:
    base, key = served
    port = int(base.rsplit(":", 1)[1])
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    results = spawn.Queue()
    refusals: list[tuple[int, float, int]] = []

    def measure(http: httpx.Client) -> list[float]:
        latencies = []
        for _ in range(SAMPLES):
            started = time.perf_counter()
            answer = http.get("/v1/assign", params=POINT)
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
        return latencies

    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as http:
        quiet = measure(http)  # warm (connection, key, index), and the figure to compare
        attackers = [
            spawn.Process(target=attack, args=(port, stop, results)) for _ in range(ATTACKERS)
        ]
        for attacker in attackers:
            attacker.start()
        try:
            while len(refusals) < ATTACKERS:  # the attackers are sending
                refusals.append(results.get(timeout=120))
            latencies = measure(http)
        finally:
            stop.set()
            for attacker in attackers:
                attacker.join(timeout=120)
                if attacker.is_alive():
                    attacker.kill()
    while not results.empty():
        refusals.append(results.get())
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"/v1/assign p50/p99: quiet {statistics.median(quiet) * 1000:.1f}/"
        f"{statistics.quantiles(quiet, n=100)[98] * 1000:.1f} ms; under {ATTACKERS} clients "
        f"sending {HEADER_MB} MB headers {statistics.median(latencies) * 1000:.1f}/"
        f"{p99 * 1000:.1f} ms; {len(refusals)} oversize requests, slowest answer "
        f"{max(r[1] for r in refusals):.3f} s"
    )
    assert {status for status, _, _ in refusals} == {431}, refusals[:5]
    assert max(seconds for _, seconds, _ in refusals) < 1.0
    assert max(sent for _, _, sent in refusals) < HEADER_MB * CHUNK  # cut off, not read whole
    assert p99 < 0.050, f"p99 {p99 * 1000:.1f} ms"


def test_a_slow_head_is_answered_408(served: tuple[str, str]) -> None:
    base, _ = served
    port = int(base.rsplit(":", 1)[1])
    started = time.monotonic()  # before connecting: the server's clock starts at the accept
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        answer = sock.recv(65536)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"application/problem+json" in answer and b"WANGGE_HEADER_TIMEOUT_SECONDS" in answer
    assert HEADER_TIMEOUT_S <= waited < HEADER_TIMEOUT_S + 2


def test_a_big_but_allowed_head_is_served(served: tuple[str, str]) -> None:
    base, key = served
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10) as http:
        answer = http.get("/v1/assign", params=POINT, headers={"X-Padding": "a" * 32_000})
        assert answer.status_code == 200, answer.text
        refused = http.get("/v1/assign", params=POINT, headers={"X-Padding": "a" * 70_000})
        assert refused.status_code == 431
        assert refused.json()["field"] == "headers"
