"""Per-key rate limits hold across API hosts (issue 28): two servers over one database share
each key's bucket through PostgreSQL (``rate_buckets``), settled every sync interval."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gis.settings import Settings
from gis.store.db import make_engine
from tests.conftest import LiveServer, create_api_key
from tests.fixtures import HALF, X0, Y0, load_small_street

POINT = {"lon": X0 + HALF / 2, "lat": Y0 + HALF / 2}


def test_a_key_spent_on_one_host_is_limited_on_the_other(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = new_database()
    engine = make_engine(url)
    load_small_street(engine, tmp_path_factory.mktemp("ratelimit"))
    engine.dispose()
    key = create_api_key(url)
    settings = Settings(
        database_url=url,
        rate_limit_per_second=0.01,
        rate_limit_burst=4,
        rate_limit_sync_seconds=0.2,
    )
    with LiveServer(settings, key=key) as a, LiveServer(settings, key=key) as b:
        with a.client() as http_a:
            statuses = [http_a.get("/v1/assign", params=POINT).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]  # A alone: its burst, then the limit
        time.sleep(1.0)  # A settles its spending with the shared bucket
        with b.client() as http_b:
            first = http_b.get("/v1/assign", params=POINT)  # B's own bucket is still full
            assert first.status_code == 200
            time.sleep(1.0)  # B settles: the shared bucket is empty, and so is B's now
            later = http_b.get("/v1/assign", params=POINT)
            assert later.status_code == 429, later.text
            assert int(later.headers["Retry-After"]) >= 1
