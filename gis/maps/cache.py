"""Built map pages kept per process until the data they show changes.

A page is keyed by its request (path and query) and by the ``data_versions`` counters of the
tables pages read: any import, roster change, new incident or activated generation changes
the key, so a cached page is never stale; an unchanged street is served without rebuilding
(the coverage page runs every coverage check, seconds on a real street).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sqlalchemy import Connection

from gis.store.schema import data_version

#: Every table a map page may read.
PAGE_TABLES = (
    "generations",
    "areas",
    "buildings",
    "staff",
    "facilities",
    "incidents",
    "incident_events",
)


class PageCache:
    """A small thread-safe LRU of built pages (HTML strings)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[Hashable, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self.built = 0  # how many pages were built (not served from the cache)

    def page(self, conn: Connection, key: Hashable, build: Callable[[], str]) -> str:
        """The page for ``key`` at the current data versions, built by ``build`` if needed."""
        full = (key, data_version(conn, *PAGE_TABLES))
        with self._lock:
            html = self._pages.get(full)
            if html is not None:
                self._pages.move_to_end(full)
                return html
        html = build()
        with self._lock:
            self.built += 1
            self._pages[full] = html
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return html
