"""The caller's :class:`~gis.access.Scope`, built once per request from the authenticated key.

Routers take ``scope: CallerScope`` and hand it to ``gis``; they make no scope check of their
own (``gis`` puts the scope in the query that looks an object up, so out of scope is absent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.security import Caller
from gis.access import Principal, Scope


def scope_of(principal: Principal) -> Scope:
    """What ``principal`` may see: the one place the API turns a key into its Scope (the
    dependency below, and the ``/v1/assign`` fast lane, which answers before dependencies)."""
    return Scope.of(principal)


async def caller_scope(caller: Caller) -> Scope:
    """What the caller of this request may see (async: no thread hand-off for a dataclass)."""
    return scope_of(caller)


CallerScope = Annotated[Scope, Depends(caller_scope)]
