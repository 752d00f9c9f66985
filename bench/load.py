"""Reliability under load: a bounded open-loop mix of intake, assignment and reads at rising
rates against a real API server, then the same mix while the database restarts midway.

    .venv/bin/python bench/load.py            # ~3 min
    .venv/bin/python bench/load.py --quick    # ~1 min (smoke)

Phase 1 (throwaway database on the managed cluster, demo street loaded): for each rate of
``--rates`` (requests/s), ``--seconds`` of requests sent on schedule whether or not earlier
ones answered (asyncio + httpx.AsyncClient), first against a trivial uvicorn app (the
baseline: one JSON line for any request, same client, same schedule) and then against
wangge. Latency counts from the scheduled send time to the answer read. Prints per rate:
sent, answers by status, p50/p99, the baseline's p99 and the ratio; then the highest rate
held (every request answered 2xx, p99 < 100 ms). The ladder stops after the first rate not
held. Then: incidents stored == 201 answers, no external_id twice.

Phase 2 (a dedicated short-lived cluster in ``.wangge/bench-load-<random>``, so the shared
managed cluster is never stopped): the same mix at ``--restart-rate`` for
``--restart-seconds``; the cluster is stopped after a third of it and started again
``--down`` seconds later. Intake clients retry a 503 (after its ``Retry-After``) or a lost
connection with the same body and external_id, until answered. At the end: distinct
external_ids answered 201 or 200 == incidents stored, none twice, none lost.

Nothing is asserted: figures are printed. Bounded: every request has a 30 s timeout, the
retries stop 120 s after the schedule, servers and the dedicated cluster are stopped and the
throwaway database dropped at the end (also on errors).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    DEMO_DATA,
    ROOT,
    api_server,
    machine_line,
    pg_connect,
    table,
    throwaway_db,
    uvicorn_command,
)

#: kind → share of the requests (per 100)
MIX = (
    ("intake", 40),
    ("assign", 20),
    ("batch", 5),
    ("incidents", 15),
    ("areas", 10),
    ("stats", 10),
)
CATS = ["garbage", "ebike_charging", "water_leak", "noise", "illegal_parking", "facility_damage"]
P99_TARGET_MS = 100.0
BATCH_POINTS = 50
TIMEOUT_S = 30.0
RETRY_FOR_S = 120.0


# --- the baseline peer: a trivial ASGI app answering one small JSON for any request ---------
async def baseline_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer ``{"status":"ok"}`` to every request (its body is read and dropped)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


#: the load test measures capacity, not the per-key rate limiter (one key sends everything)
NO_RATE_LIMIT = {"WANGGE_RATE_LIMIT_PER_SECOND": "0"}


def wangge_command(workers: int) -> Callable[[int], list[str]]:
    """The API like ``wangge serve --workers N``: uvicorn with N worker processes."""
    return lambda port: [*uvicorn_command(port), "--workers", str(workers)]


def baseline_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"), "load:baseline_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip


# --- the workload ---------------------------------------------------------------------------
@dataclass
class Workload:
    """Deterministic requests over the demo street: ``request(k)`` is (kind, method, path,
    JSON body or None); intake bodies carry the external_id ``<tag>-<k>``."""

    bbox: tuple[float, float, float, float]
    tag: str
    seed: int = 7
    kinds: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kinds = [kind for kind, share in MIX for _ in range(share)]

    def request(self, k: int) -> tuple[str, str, str, dict[str, Any] | None]:
        rng = random.Random(self.seed * 1_000_003 + k)
        kind = rng.choice(self.kinds)
        x0, y0, x1, y1 = self.bbox

        def point() -> dict[str, float]:
            return {"lon": rng.uniform(x0, x1), "lat": rng.uniform(y0, y1)}

        if kind == "intake":
            body = {
                "category": rng.choice(CATS),
                "source": "hotline",
                "description": "负载测试",
                "reported_at": (
                    datetime.now(UTC) - timedelta(minutes=rng.uniform(1, 600))
                ).isoformat(),
                "external_id": f"{self.tag}-{k}",
                **point(),
            }
            return kind, "POST", "/v1/incidents", body
        if kind == "assign":
            p = point()
            return kind, "GET", f"/v1/assign?lon={p['lon']!r}&lat={p['lat']!r}", None
        if kind == "batch":
            return (
                kind,
                "POST",
                "/v1/assign/batch",
                {"points": [point() for _ in range(BATCH_POINTS)]},
            )
        path = {
            "incidents": "/v1/incidents?limit=20",
            "areas": "/v1/areas?level=micro_grid&limit=20",
            "stats": "/v1/stats?group_by=category",
        }[kind]
        return kind, "GET", path, None


@dataclass
class Outcome:
    """One scheduled request: its first answer's status and latency, the final status after
    retries (intake only), and its external_id."""

    kind: str
    status: int = 0  # first answer; -1: no answer (connection error or timeout)
    latency: float = float("nan")  # scheduled send -> first answer read, seconds
    final: int = 0
    attempts: int = 0
    external_id: str | None = None


async def _send(client: Any, method: str, path: str, body: Any) -> tuple[int, float]:
    """(status, Retry-After seconds or 0); status -1 when no answer came."""
    import httpx

    try:
        r = await client.request(method, path, json=body)
    except httpx.HTTPError:
        return -1, 0.0
    try:
        retry_after = float(r.headers.get("retry-after", 0))
    except ValueError:
        retry_after = 1.0
    return r.status_code, retry_after


async def run_schedule(
    base: str,
    headers: dict[str, str],
    work: Workload,
    *,
    first: int,
    rate: float,
    seconds: float,
    retry: bool = False,
    at: dict[float, Callable[[], Any]] | None = None,
) -> tuple[list[Outcome], float]:
    """Send ``rate × seconds`` requests on schedule (open loop); (outcomes, seconds the
    sending took). With ``retry``, an intake answered 503 or not at all is sent again with
    the same body after ``Retry-After`` (1 s without one) until answered, for at most
    RETRY_FOR_S after the schedule. ``at``: {seconds into the run: blocking callable},
    each run in a thread at that time (the schedule goes on meanwhile)."""
    import httpx

    n = int(rate * seconds)
    outcomes: list[Outcome] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=TIMEOUT_S, limits=limits
    ) as client:
        give_up = float("inf")

        async def one(k: int, scheduled: float) -> None:
            kind, method, path, body = work.request(first + k)
            out = outcomes[k]
            out.external_id = body.get("external_id") if body and kind == "intake" else None
            status, wait = await _send(client, method, path, body)
            out.status, out.final, out.attempts = status, status, 1
            out.latency = time.perf_counter() - scheduled
            while retry and kind == "intake" and out.final in (-1, 503):
                if time.perf_counter() > give_up:
                    return
                await asyncio.sleep(wait or 1.0)
                out.final, wait = await _send(client, method, path, body)
                out.attempts += 1

        async def fire(delay: float, action: Callable[[], Any]) -> None:
            await asyncio.sleep(delay)
            await asyncio.to_thread(action)

        t0 = time.perf_counter() + 0.05
        side = [
            asyncio.create_task(fire(t0 - time.perf_counter() + s, a))
            for s, a in (at or {}).items()
        ]
        tasks = []
        for k in range(n):
            scheduled = t0 + k / rate
            outcomes.append(Outcome(kind=""))
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            outcomes[k].kind = work.request(first + k)[0]
            tasks.append(asyncio.create_task(one(k, scheduled)))
        sent_s = time.perf_counter() - t0
        give_up = time.perf_counter() + RETRY_FOR_S
        await asyncio.gather(*side)
        await asyncio.wait(tasks, timeout=RETRY_FOR_S + 2 * TIMEOUT_S)
    return outcomes, sent_s


def summary(outcomes: list[Outcome], sent_s: float) -> dict[str, Any]:
    """Sent, answers by status, p50/p99 over every answered request, held or not."""
    import numpy as np

    by_status = collections.Counter(o.status for o in outcomes)
    answered = [o.latency for o in outcomes if o.status > 0]
    p50, p99 = (
        (1e3 * float(np.percentile(answered, 50)), 1e3 * float(np.percentile(answered, 99)))
        if answered
        else (float("nan"), float("nan"))
    )
    ok = all(200 <= o.status < 300 for o in outcomes)
    return {
        "sent": len(outcomes),
        "send_rate": len(outcomes) / sent_s if sent_s > 0 else float("nan"),
        "status": dict(sorted(by_status.items())),
        "p50_ms": p50,
        "p99_ms": p99,
        "held": ok and p99 < P99_TARGET_MS,
        "by_kind": {
            kind: 1e3 * float(np.percentile(lat, 99))
            for kind in dict(MIX)
            if (lat := [o.latency for o in outcomes if o.kind == kind and o.status > 0])
        },
    }


def status_text(status: dict[int, int]) -> str:
    """``201:40 503:3 none:1`` (none: no answer)."""
    return " ".join(f"{'none' if s < 0 else s}:{n}" for s, n in sorted(status.items()))


# --- databases ------------------------------------------------------------------------------
def prepare(url: str) -> tuple[tuple[float, float, float, float], str]:
    """Load the demo street and the categories into ``url``; (street bbox, admin API key)."""
    import shapely

    from gis.demo_load import load_demo
    from gis.incidents.categories import ensure_categories
    from gis.security.keys import create_key
    from gis.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            load_demo(conn, DEMO_DATA)
            ensure_categories(conn)
            key = create_key(conn, role="admin", name="bench load").key
    finally:
        engine.dispose()
    street = json.loads((DEMO_DATA / "street.geojson").read_text())
    geoms = [shapely.geometry.shape(f["geometry"]) for f in street["features"]]
    bounds = shapely.total_bounds(geoms).tolist()
    return (bounds[0], bounds[1], bounds[2], bounds[3]), key


def stored_check(url: str, tag: str) -> tuple[int, int, set[str]]:
    """(rows, distinct external_ids, the external_ids) of incidents from this run."""
    with pg_connect(url) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT external_id FROM incidents WHERE external_id LIKE %s", (tag + "-%",)
            )
        ]
    return len(ids), len(set(ids)), set(ids)


@contextlib.contextmanager
def dedicated_cluster() -> Iterator[Any]:
    """A short-lived cluster of this benchmark's own (stopping it never touches the shared
    managed cluster); destroyed at the end."""
    from gis.store.cluster import Cluster

    home = ROOT / ".wangge" / f"bench-load-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(home)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


# --- phases ---------------------------------------------------------------------------------
def intake_check(url: str, tag: str, outcomes: list[Outcome]) -> list[str]:
    """Lines comparing the stored incidents with the intake answers (final status after
    retries): stored == distinct external_ids answered 201 or 200, none twice."""
    intake = [o for o in outcomes if o.kind == "intake"]
    created = {o.external_id for o in intake if o.final == 201}
    replayed = {o.external_id for o in intake if o.final == 200}
    unanswered = [o for o in intake if o.final not in (200, 201)]
    retried = sum(o.attempts > 1 for o in intake)
    rows, distinct, stored = stored_check(url, tag)
    answered = created | replayed
    verdict = (
        "OK: nothing lost, nothing doubled"
        if rows == distinct == len(answered) and stored == answered and not unanswered
        else "MISMATCH"
    )
    return [
        f"intake requests {len(intake)} (retried {retried}); final answers: "
        f"201 {len(created)}, 200 (same external_id, already stored) {len(replayed)}, "
        f"other {len(unanswered)} {status_text(collections.Counter(o.final for o in unanswered))}",
        f"incidents in the database {rows}, distinct external_ids {distinct}; "
        f"answered but not stored {len(answered - stored)}, stored but never answered "
        f"{len(stored - answered)} → {verdict}",
    ]


def ladder_row(rate: float, w: dict[str, Any], b: dict[str, Any], attempt: int) -> list[str]:
    return [
        f"{rate:g}" + (" (again)" if attempt > 1 else ""),
        f"{w['sent']} ({w['send_rate']:.0f}/s)",
        status_text(w["status"]),
        f"{w['p50_ms']:.1f}",
        f"{w['p99_ms']:.1f}",
        " ".join(f"{k} {v:.0f}" for k, v in w["by_kind"].items()),
        f"{b['p99_ms']:.1f}",
        f"{w['p99_ms'] / b['p99_ms']:.1f}×",
        "yes" if w["held"] else "no",
    ]


LADDER_HEADER = [
    "rate/s", "sent (send rate)", "answers by status", "p50 ms", "p99 ms",
    "p99 ms by kind", "baseline p99 ms", "p99 wangge/baseline", "held",
]  # fmt: skip


def phase_ladder(args: argparse.Namespace) -> list[str]:
    """Rising rates against wangge and the baseline; the incidents check."""
    tag = f"load-{uuid.uuid4().hex[:6]}"
    with throwaway_db("load") as url:
        t0 = time.perf_counter()
        bbox, key = prepare(url)
        print(f"demo street loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        work, headers = Workload(bbox, tag), {"X-API-Key": key}
        rows: list[list[str]] = []
        held: float | None = None
        base_held: float | None = None
        everything: list[Outcome] = []
        first = 0
        with (
            api_server(
                url, command=wangge_command(args.workers), env=NO_RATE_LIMIT, quiet=True
            ) as (base, _, ready_s, _),
            api_server(url, command=baseline_command, quiet=True) as (peer, _, _, _),
        ):
            print(f"wangge healthy after {ready_s:.1f} s", file=sys.stderr)
            # warm-up of both (discarded; wangge's incidents are counted): connections,
            # first queries, lazy imports
            warm_s = min(3.0, args.seconds)
            asyncio.run(
                run_schedule(peer, headers, work, first=0, rate=args.rates[0], seconds=warm_s)
            )
            warm, _ = asyncio.run(
                run_schedule(base, headers, work, first=0, rate=args.rates[0], seconds=warm_s)
            )
            everything += warm
            first = len(warm)
            for rate in args.rates:
                # a rate not held runs once more (the box is noisy), except in a quick run
                for attempt in (1, 2) if not args.quick else (1,):
                    # the baseline right before wangge at the same rate: same noise
                    b = summary(
                        *asyncio.run(
                            run_schedule(
                                peer, headers, work, first=first, rate=rate, seconds=args.seconds
                            )
                        )
                    )
                    outcomes, sent_s = asyncio.run(
                        run_schedule(
                            base, headers, work, first=first, rate=rate, seconds=args.seconds
                        )
                    )
                    everything += outcomes
                    first += len(outcomes)
                    w = summary(outcomes, sent_s)
                    print(
                        f"  {rate:g}/s: wangge p99 {w['p99_ms']:.1f} ms "
                        f"{status_text(w['status'])}; baseline p99 {b['p99_ms']:.1f} ms",
                        file=sys.stderr,
                    )
                    rows.append(ladder_row(rate, w, b, attempt))
                    base_held = rate if b["held"] else base_held
                    if w["held"]:
                        break
                if not w["held"]:
                    break
                held = rate
        lines = [
            f"Phase 1: open-loop mix {dict(MIX)} (batch = {BATCH_POINTS} points), "
            f"{args.seconds:g} s per rate, {args.workers} API worker(s), latency from the "
            "scheduled send",
            table(LADDER_HEADER, rows),
            f"highest rate held (all 2xx, p99 < {P99_TARGET_MS:.0f} ms): "
            f"wangge {held if held is not None else 'none'}/s; baseline (trivial uvicorn "
            f"app, same client) {base_held if base_held is not None else 'none'}/s of the rates "
            f"it ran (the ladder stops where wangge does)",
            *intake_check(url, tag, everything),
        ]
    return lines


def phase_restart(args: argparse.Namespace) -> list[str]:
    """The mix at one rate while the dedicated cluster is stopped and started again."""
    tag = f"restart-{uuid.uuid4().hex[:6]}"
    events: list[str] = []
    with dedicated_cluster() as cluster:
        url = cluster.url()
        from gis.store.db import make_engine
        from gis.store.migrate import upgrade

        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        bbox, key = prepare(url)
        work = Workload(bbox, tag, seed=11)
        t_ref = time.perf_counter()

        def stop() -> None:
            cluster.stop()
            events.append(f"database stopped at {time.perf_counter() - t_ref:.1f} s")

        def start() -> None:
            cluster.start()
            events.append(f"database started again at {time.perf_counter() - t_ref:.1f} s")

        down_at = args.restart_seconds / 3
        with api_server(
            url, command=wangge_command(args.workers), env=NO_RATE_LIMIT, quiet=True
        ) as (base, _, _, _):
            t_ref = time.perf_counter()
            outcomes, sent_s = asyncio.run(
                run_schedule(
                    base,
                    {"X-API-Key": key},
                    work,
                    first=0,
                    rate=args.restart_rate,
                    seconds=args.restart_seconds,
                    retry=True,
                    at={down_at: stop, down_at + args.down: start},
                )
            )
            done_s = time.perf_counter() - t_ref
        s = summary(outcomes, sent_s)
        by_kind = {
            kind: status_text(
                dict(
                    sorted(
                        collections.Counter(o.status for o in outcomes if o.kind == kind).items()
                    )
                )
            )
            for kind in dict(MIX)
        }
        return [
            f"Phase 2: the mix at {args.restart_rate:g}/s for {args.restart_seconds:g} s on a "
            f"dedicated cluster, stopped after {down_at:.1f} s for {args.down:g} s "
            f"({'; '.join(events)}); last retry answered {done_s:.1f} s after the start",
            f"first answers by status {status_text(s['status'])}; p50 {s['p50_ms']:.1f} ms, "
            f"p99 {s['p99_ms']:.1f} ms",
            "first answers by kind: " + "; ".join(f"{k} {v}" for k, v in by_kind.items()),
            *intake_check(url, tag, outcomes),
        ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=None,
        help="comma list of request rates per second (rising)",
    )
    ap.add_argument("--seconds", type=float, default=None, help="seconds per rate")
    ap.add_argument("--restart-rate", type=float, default=None)
    ap.add_argument("--restart-seconds", type=float, default=None)
    ap.add_argument("--down", type=float, default=None, help="seconds the database is down")
    ap.add_argument("--workers", type=int, default=1, help="API worker processes (default 1)")
    ap.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    ap.add_argument("--skip-restart", action="store_true")
    args = ap.parse_args()
    quick = args.quick
    defaults = {
        "rates": [20.0, 40.0] if quick else [10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 120.0, 160.0],
        "seconds": 2.0 if quick else 6.0,
        "restart_rate": 20.0,
        "restart_seconds": 8.0 if quick else 20.0,
        "down": 2.0 if quick else 5.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    started = time.perf_counter()
    lines = phase_ladder(args)
    if not args.skip_restart:
        lines += ["", *phase_restart(args)]
    lines += ["", machine_line(), f"total {time.perf_counter() - started:.0f} s"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
