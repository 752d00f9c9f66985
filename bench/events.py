"""Events benchmark (issue 26): what the outbox costs intake, how many events per second it
writes, and how long a webhook takes from commit to receipt.

    .venv/bin/python bench/events.py [--batch 10000] [--rate 100] [--seconds 15]

* Data: the demo street and the shipped categories in a throwaway database (as
  bench/intake.py).
* batch intake: ``gis.incidents.intake.intake`` of N bodies (bench/intake.py's mix), COMMIT;
  with the outbox trigger on and off (``ALTER TABLE incident_events DISABLE TRIGGER``),
  alternating, median of 3 each (rows deleted between runs, untimed): the outbox's cost as a
  ratio measured in the same run, and events written per second.
* single requests: the API in one uvicorn worker (a subprocess, delivering webhooks itself)
  and bench/intake.py's open-loop client at ``--rate`` for ``--seconds`` (after 3 s of
  warm-up): latency p50/p99 with the outbox trigger off, then on. A receiver in this process
  (a threaded http.server on loopback) is subscribed to every event; delivery latency is
  receipt time minus the event's ``at`` (the writing transaction's start, so an upper bound
  of commit → receipt) and minus the time the client got the 201 (after the commit: a lower
  bound), p50/p99 over the events of the "on" phase.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import asyncio
import statistics
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import orjson
from _common import api_server, free_port, machine_line, postgis_version, throwaway_db
from intake import _load, bodies, load_street

TRIGGER = "ALTER TABLE incident_events {} TRIGGER incident_events_outbox"


def set_outbox(url: str, on: bool) -> None:
    from sqlalchemy import text

    from gis.store.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(TRIGGER.format("ENABLE" if on else "DISABLE")))
    engine.dispose()


def bench_batch(url: str, bbox: Any, addresses: list[str], n: int) -> dict[str, Any]:
    from sqlalchemy import delete, func, select

    from gis.assign.service import Assigner
    from gis.geocode.cache import GazetteerCache
    from gis.incidents.intake import IntakeContext, intake
    from gis.incidents.locating import gazetteer_resolver
    from gis.incidents.worktime import WorkCalendar
    from gis.store.db import make_engine
    from gis.store.models import EVENTS, INCIDENT_EVENTS, INCIDENTS

    engine = make_engine(url)
    ctx = IntakeContext(
        Assigner(engine), WorkCalendar(), gazetteer_resolver(GazetteerCache(engine)), max_batch=n
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    written: list[int] = []
    for run in range(7):  # run 0 warms up; then off, on, off, on, off, on
        on = run % 2 == 0
        set_outbox(url, on)
        items = bodies(n, bbox, addresses, seed=run, tag=f"e{run}")
        with engine.begin() as conn:
            conn.execute(delete(INCIDENT_EVENTS))
            conn.execute(delete(INCIDENTS))
            before = conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            intake(conn, ctx, items)
        elapsed = time.perf_counter() - t0
        with engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()
        if run:
            times[on].append(elapsed)
            if on:
                written.append(after - before)
    set_outbox(url, True)
    engine.dispose()
    return {"n": n, "on": times[True], "off": times[False], "events": written}


class Receiver:
    """Every POST's receipt time and body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.got: list[tuple[float, bytes]] = []
        lock = threading.Lock()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = time.time()
                self.send_response(204)
                self.end_headers()
                with lock:
                    got.append((at, body))

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_single(url: str, bbox: Any, addresses: list[str], rate: float, seconds: float) -> str:
    import httpx

    receiver = Receiver()
    env = {"WANGGE_WEBHOOK_ALLOW_PRIVATE": "true", "WANGGE_WEBHOOK_THREADS": "2"}
    lines = []
    with api_server(url, env=env, timeout_s=900) as api:  # a loaded box starts slowly
        made = httpx.post(
            api.base + "/v1/subscriptions",
            json={"url": f"http://127.0.0.1:{receiver.port}/hook"},
            headers=api.headers,
        )
        made.raise_for_status()
        results = {}
        for phase, on in (("off", False), ("on", True)):
            set_outbox(url, on)
            items = bodies(int(rate * (seconds + 3)), bbox, addresses, 7 + on, f"s{phase}")
            start = time.time()
            results[phase] = asyncio.run(_load(api, rate, seconds, items))
            results[phase]["window"] = (start, time.time())
        deadline = time.time() + 60
        with httpx.Client(base_url=api.base, headers=api.headers) as client:
            while time.time() < deadline:
                sub = client.get(f"/v1/subscriptions/{made.json()['id']}").json()
                last = client.get("/v1/events", params={"after": sub["cursor"]}).json()
                if not last["events"]:
                    break
                time.sleep(0.2)
    for phase in ("off", "on"):
        h = results[phase]
        lines.append(
            f"single POST /v1/incidents at {rate:.0f}/s for {seconds:.0f} s, outbox {phase}: "
            f"p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms, p99 {h['p99_ms']:.1f} ms, "
            f"max {h['max_ms']:.1f} ms; {h['ok']}/{h['n']} answered 201"
        )
    lat_at: list[float] = []
    begin, end = results["on"]["window"]
    count = 0
    for received, body in receiver.got:
        event = orjson.loads(body)
        at = datetime.fromisoformat(event["at"]).timestamp()
        if begin <= at <= end:
            count += 1
            lat_at.append(1e3 * (received - at))
    receiver.server.shutdown()
    written = count / (end - begin)
    lines.append(
        f"webhook delivery of {count} events written during the 'on' phase "
        f"({written:.0f} events/s): commit→receipt p50 {pct(lat_at, 50):.1f} ms, "
        f"p99 {pct(lat_at, 99):.1f} ms, max {pct(lat_at, 100):.1f} ms "
        "(from the transaction's start: an upper bound)"
    )
    on, off = results["on"], results["off"]
    lines.append(
        f"single-request cost of the outbox: p50 {on['p50_ms'] / off['p50_ms']:.2f}×, "
        f"p99 {on['p99_ms'] / off['p99_ms']:.2f}× (on/off)"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    lines: list[str] = []
    with throwaway_db("events") as url:
        print(postgis_version(url), flush=True)
        bbox, addresses = load_street(url)
        if not args.skip_batch:
            b = bench_batch(url, bbox, addresses, args.batch)
            on, off = statistics.median(b["on"]), statistics.median(b["off"])
            events = statistics.median(b["events"])
            lines.append(
                f"batch intake of {b['n']:,}: outbox on {on:.3f} s {b['on']}, off {off:.3f} s "
                f"{b['off']} (medians; on/off {on / off:.3f}×) = {b['n'] / on:,.0f} "
                f"incidents/s with the outbox; {events:,.0f} events written = "
                f"{events / on:,.0f} events/s"
            )
            print(lines[-1], flush=True)
        if not args.skip_http:
            lines.append(bench_single(url, bbox, addresses, args.rate, args.seconds))
            print(lines[-1], flush=True)
    print("\n== summary ==")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
