"""A per-process gazetteer, rebuilt when the ``addresses`` table changes.

Like :class:`gis.assign.service.Assigner`, each process polls ``data_versions`` (at most every
``check_seconds``, one tiny query) and swaps in a freshly built :class:`Gazetteer` by
reference, so a request sees the whole old gazetteer or the whole new one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from gis.errors import Unavailable
from gis.geocode.gazetteer import Gazetteer
from gis.store.db import database_errors
from gis.store.models import DATA_VERSIONS


@dataclass
class GazetteerCache:
    """Builds, caches and refreshes this process's :class:`Gazetteer`."""

    engine: Engine
    check_seconds: float = 2.0
    _gazetteer: Gazetteer | None = None
    _version: int = -1
    _checked_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def version(self) -> int:
        """The ``addresses`` data version, re-read at most every ``check_seconds``. With the
        database away, the version of the gazetteer in memory (so it keeps answering);
        :class:`~gis.errors.Unavailable` when there is none yet."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_seconds:
            try:
                with database_errors(), self.engine.connect() as conn:
                    value = conn.execute(
                        select(DATA_VERSIONS.c.version).where(DATA_VERSIONS.c.name == "addresses")
                    ).scalar()
            except Unavailable:
                if self._gazetteer is None:
                    raise
                return self._version
            self._checked_at = now
            return int(value or 0)
        return self._version

    def get(self) -> Gazetteer:
        """The gazetteer as of the last poll (built on first use, rebuilt after changes);
        Unavailable when the database cannot be reached."""
        version = self.version()
        gazetteer = self._gazetteer
        if gazetteer is not None and version == self._version:
            return gazetteer
        with self._lock:  # one rebuild at a time; others wait and reuse it
            if self._gazetteer is None or version != self._version:
                try:
                    with database_errors(), self.engine.connect() as conn:
                        fresh = Gazetteer.load(conn)
                except Unavailable:
                    if self._gazetteer is None:
                        raise
                    return self._gazetteer  # the database went away: keep answering
                self._gazetteer, self._version = fresh, version
            return self._gazetteer
