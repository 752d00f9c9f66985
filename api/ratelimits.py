"""Per-key rate limits that hold across workers and hosts (issue 28), without a database
round trip on the request path.

Each worker keeps its token buckets in memory (:class:`api.security.RateLimiter`: a request
costs a dict lookup) and counts what each key spends. Every ``WANGGE_RATE_LIMIT_SYNC_SECONDS``
a background thread settles that spending with the key's shared bucket in PostgreSQL (the
UNLOGGED table ``rate_buckets``, one upsert per active key: refill by elapsed time, take the
spending, answer the tokens left) and lowers the worker's bucket to what is left for
everyone. So the limit is the configured one for the whole deployment, not per worker.

The trade-off: between two syncs each worker decides alone, so a deployment of W workers
(all hosts together) may let through up to about W × (rate × sync interval) more than the
limit in one interval, and a key new to a worker starts with that worker's full burst until
its first sync. With the defaults (100/s, burst 200, 1 s) and 8 workers, a burst over the
limit is cut within a second. The database away: workers keep limiting alone, as before.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from api.security import RateLimiter
from gis.settings import Settings

_SETTLE = text(
    "INSERT INTO rate_buckets AS b (who, tokens, at) VALUES (:who, :burst - :spent, now()) "
    "ON CONFLICT (who) DO UPDATE SET "
    "tokens = least(:burst, b.tokens + :rate * extract(epoch FROM now() - b.at)) - :spent, "
    "at = now() "
    "RETURNING tokens"
)


class SharedRateLimiter(RateLimiter):
    """A worker's token buckets, settled periodically with the shared ones in PostgreSQL."""

    def __init__(self, rate: float, burst: int, *, app: Any, sync_seconds: float) -> None:
        super().__init__(rate, burst)
        self.app = app
        self.sync_seconds = sync_seconds
        self._spent: Counter[str] = Counter()
        self._thread: threading.Thread | None = None

    def take(self, who: str) -> float:
        wait = super().take(who)
        if wait == 0 and self.rate > 0:
            with self._lock:
                self._spent[who] += 1
            if self._thread is None:
                self._start()
        return wait

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="rate-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.sync_seconds)
            with contextlib.suppress(Exception):  # never let the sync thread die
                self.sync()

    def sync(self) -> None:
        """Settle every key's spending since the last sync with its shared bucket."""
        engine: Engine | None = getattr(self.app.state, "engine", None)
        with self._lock:
            spent, self._spent = self._spent, Counter()
        if engine is None or not spent:
            return
        try:
            with engine.begin() as conn:
                left = {
                    who: float(
                        conn.execute(
                            _SETTLE,
                            {"who": who, "spent": n, "burst": self.burst, "rate": self.rate},
                        ).scalar_one()
                    )
                    for who, n in sorted(spent.items())  # one order: no deadlocks
                }
        except SQLAlchemyError:
            with self._lock:  # the database is away: keep the spending for the next try
                self._spent.update(spent)
            return
        now = time.monotonic()
        with self._lock:
            for who, shared in left.items():
                mine = self._tokens(who, now)
                # spending since the snapshot is still to be settled: keep it counted
                self._buckets[who] = (min(mine, shared - self._spent[who]), now)


def install(app: Any, settings: Settings) -> None:
    """Replace the worker-local limiter :func:`api.security.install` made with the shared
    one (same settings; call after it)."""
    app.state.rate_limiter = SharedRateLimiter(
        settings.rate_limit_per_second,
        settings.rate_limit_burst,
        app=app,
        sync_seconds=settings.rate_limit_sync_seconds,
    )
