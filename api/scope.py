"""The caller's :class:`~gis.access.Scope`, built once per request from the authenticated key.

Routers take ``scope: CallerScope`` and hand it to ``gis``; they make no scope check of their
own (``gis`` puts the scope in the query that looks an object up, so out of scope is absent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.security import Caller
from gis.access import Scope


async def caller_scope(caller: Caller) -> Scope:
    """What the caller of this request may see (async: no thread hand-off for a dataclass)."""
    return Scope.of(caller)


CallerScope = Annotated[Scope, Depends(caller_scope)]
