"""Events over HTTP (issue 26): the pull list and its stream, subscriptions, and webhook
delivery to a real receiver on loopback: nothing lost across a receiver outage and an API
restart, signatures that verify, scope kept, order kept, one deliverer per event."""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gis.settings import Settings
from tests.api.webhook_receiver import Receiver
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, small_street_with_categories

PROBLEM = "application/problem+json"
G1 = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}  # M1, in grid G1
G2 = {"lon": X0 + 1.5 * HALF, "lat": Y0 + 1.5 * HALF}  # M4, in grid G2


def incident(where: dict[str, float], **kw: object) -> dict[str, object]:
    return {
        "category": "garbage",
        "description": "垃圾堆放",
        "source": "hotline",
        "reported_at": "2026-11-23T09:30:00+08:00",
        **where,
        **kw,
    }


def fast(url: str, **kw: Any) -> Settings:
    """Settings for delivery tests: loopback receivers allowed, quick retries."""
    return Settings(
        database_url=url,
        rate_limit_per_second=0,
        webhook_allow_private=True,
        webhook_backoff_s=0.2,
        webhook_backoff_max_s=1.0,
        webhook_max_failures=10_000,
        webhook_timeout_s=5,
        events_poll_s=0.2,
        **kw,
    )


@pytest.fixture
def street(new_database: Callable[[], str], tmp_path: Path) -> str:
    url = new_database()
    small_street_with_categories(url, tmp_path)
    return url


def wait_for(check: Callable[[], bool], seconds: float = 60, why: Callable[[], Any] = str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out: {why()}"
        time.sleep(0.1)


def all_events(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = params.pop("after", 0)
    while True:
        page = client.get("/v1/events", params={**params, "after": after, "limit": 1000})
        assert page.status_code == 200, page.text
        got = page.json()["events"]
        if not got:
            return out
        out.extend(got)
        after = page.json()["last_id"]


def test_pull_stream_scope_and_bad_input(street: str) -> None:
    with LiveServer(Settings(database_url=street, webhook_deliver=False)) as live:
        scoped = create_api_key(street, "official", scope="G2")
        with live.client() as http, live.client(key=scoped) as g2:
            for where in (G1, G2, G1):
                assert http.post("/v1/incidents", json=incident(where)).status_code == 201
            everything = all_events(http)
            assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
            assert {e["type"] for e in everything} >= {
                "incident.created",
                "incident.assigned",
                "generation.activated",
            }
            created = all_events(http, types="incident.created")
            assert len(created) == 3 and all(
                set(e) == {"id", "type", "at", "data"} for e in created
            )
            # a key scoped to G2 sees G2's events only, and no generation event
            theirs = all_events(g2)
            assert theirs and all("G2" in e["data"]["area_codes"] for e in theirs)
            assert all_events(g2, area="G1") == []  # the scope still applies
            refused = g2.post("/v1/subscriptions", json={"url": "http://8.8.8.8/", "area": "G1"})
            assert refused.status_code == 404 and refused.json()["field"] == "area"
            assert all_events(http, area="G1") == [
                e for e in everything if "G1" in e["data"].get("area_codes", [])
            ]
            after = everything[1]["id"]
            assert all_events(http, after=after) == everything[2:]
            bad = http.get("/v1/events", params={"types": "incident.nope"})
            assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
            assert bad.json()["field"] == "types"
            # Server-Sent Events: resumes after Last-Event-ID, then follows new events
            with http.stream(
                "GET",
                "/v1/events",
                headers={"Accept": "text/event-stream", "Last-Event-ID": str(after)},
            ) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                messages = sse(stream.iter_lines())
                ids = [next(messages)["id"] for _ in everything[2:]]
                assert ids == [str(e["id"]) for e in everything[2:]]
                assert http.post("/v1/incidents", json=incident(G2)).status_code == 201
                latest = next(messages)
                assert latest["event"] == "incident.created"
                assert int(latest["id"]) > everything[-1]["id"]


def sse(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-Sent Events messages as {field: value} (comments and retry skipped)."""
    message: dict[str, str] = {}
    for line in lines:
        if not line:
            if "id" in message:
                yield message
            message = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            message[name] = value


def test_subscriptions_crud_and_ssrf(street: str) -> None:
    with (
        LiveServer(Settings(database_url=street, webhook_deliver=False)) as live,
        live.client() as http,
    ):
        for url in (
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "ftp://example.org/x",
            "http://user:pw@example.org/",
        ):
            answer = http.post("/v1/subscriptions", json={"url": url})
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["field"] == "url"
        assert http.get("/v1/subscriptions").json() == {"subscriptions": []}
    with LiveServer(fast(street, webhook_deliver=False)) as live, live.client() as http:
        made = http.post(
            "/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "events": ["incident.created"], "area": "G1"},
        )
        assert made.status_code == 201, made.text
        sub = made.json()
        assert sub["secret"].startswith("whsec_") and sub["state"] == "active"
        listed = http.get("/v1/subscriptions").json()["subscriptions"]
        assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
        paused = http.patch(f"/v1/subscriptions/{sub['id']}", json={"state": "paused"})
        assert paused.json()["state"] == "paused"
        bad = http.post("/v1/subscriptions", json={"url": "http://127.0.0.1/", "events": ["x"]})
        assert bad.status_code == 422
        assert http.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
        assert http.get(f"/v1/subscriptions/{sub['id']}").status_code == 404


def test_webhooks_lose_nothing_across_receiver_outage_and_api_restart(street: str) -> None:
    """500 incidents at a steady rate; the receiver is stopped for several seconds and the
    API server restarted once mid-stream. Every event of the subscribed grid arrives, signed,
    in order, none of the other grid's; GET /v1/events lists the same ids."""
    receiver = Receiver().start()
    settings = fast(street)
    key = create_api_key(street)
    live = LiveServer(settings, key=key).__enter__()
    try:
        with live.client() as http:
            made = http.post("/v1/subscriptions", json={"url": receiver.url + "/g1", "area": "G1"})
            assert made.status_code == 201, made.text
        secret, sub_id = made.json()["secret"], made.json()["id"]
        down_at: float | None = None
        for i in range(500):
            if i == 150:
                receiver.stop()
                down_at = time.monotonic()
            if down_at is not None and i > 150 and time.monotonic() - down_at > 4:
                receiver.start()
                down_at = None
            if i == 250:
                live.__exit__()
                live = LiveServer(settings, key=key).__enter__()
            with live.client() as http:
                answer = http.post("/v1/incidents", json=incident(G1 if i % 2 else G2))
                assert answer.status_code == 201, answer.text
            time.sleep(0.005)
        if down_at is not None:
            receiver.start()
        with live.client() as http:
            expected = [
                e["id"] for e in all_events(http, area="G1") if e["id"] > made.json()["cursor"]
            ]

            def arrived() -> bool:
                return {r.event["id"] for r in receiver.received()} >= set(expected)

            def why() -> Any:
                got = {r.event["id"] for r in receiver.received()}
                missing = sorted(set(expected) - got)
                state = http.get(f"/v1/subscriptions/{sub_id}").json()
                return (len(expected), len(got), missing[:10], state)

            wait_for(arrived, 120, why)
            state = http.get(f"/v1/subscriptions/{sub_id}").json()
    finally:
        live.__exit__()
        receiver.stop()
    receipts = receiver.received()
    assert len(expected) >= 250 * 2  # created + assigned for each of G1's incidents
    assert all(r.verifies(secret) for r in receipts)
    assert all(r.headers["wangge-event-id"] == str(r.event["id"]) for r in receipts)
    assert all("G1" in r.event["data"]["area_codes"] for r in receipts)
    order = [r.event["id"] for r in receipts]
    assert all(a <= b for a, b in itertools.pairwise(order)), "out of order"
    assert sorted(set(order)) == expected
    assert state["failures"] == 0 and state["cursor"] >= expected[-1]
    assert len(order) - len(set(order)) <= 2  # at most a redelivery around the restart


def test_two_workers_never_deliver_one_event_twice(
    street: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wangge.events")
    receiver = Receiver().start()
    key = create_api_key(street)
    one = LiveServer(fast(street, webhook_threads=2), key=key)
    two = LiveServer(fast(street, webhook_threads=2), key=key)
    with one, two, one.client() as http:
        subs = [
            http.post("/v1/subscriptions", json={"url": f"{receiver.url}/s{n}"}).json()
            for n in range(4)
        ]
        for i in range(60):
            target = one if i % 2 else two
            with target.client() as c:
                assert (
                    c.post("/v1/incidents", json=incident(G1 if i % 3 else G2)).status_code == 201
                )
        expected = [e["id"] for e in all_events(http) if e["id"] > subs[-1]["cursor"]]
        wait_for(lambda: len(receiver.received()) >= 4 * len(expected), 90)
        time.sleep(1)  # anything delivered twice would arrive by now
    receiver.stop()
    per_sub: dict[str, list[int]] = {}
    for r in receiver.received():
        per_sub.setdefault(r.path, []).append(r.event["id"])
    for path, ids in per_sub.items():
        assert ids == expected, path  # each event once, in order
    deliverers = {
        m.group(1)
        for m in (re.search(r"by (\S+)$", rec.getMessage()) for rec in caplog.records)
        if m
    }
    assert len(deliverers) == 2  # both workers delivered, never the same event
