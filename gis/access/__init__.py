"""Who may do what, in one place: the principal (who is calling), the roles (what each may
do) and the :class:`~gis.access.scope.Scope` (what each may see), which every read and write in
``gis`` takes. The rules per resource are in :mod:`gis.access.scope` and in docs/access.md."""

from gis.access.roles import (
    ANONYMOUS,
    PERMISSIONS,
    PUBLIC_PERMISSIONS,
    ROLES,
    Principal,
    mask_phone,
)
from gis.access.scope import EVERYWHERE, Scope

__all__ = [
    "ANONYMOUS",
    "EVERYWHERE",
    "PERMISSIONS",
    "PUBLIC_PERMISSIONS",
    "ROLES",
    "Principal",
    "Scope",
    "mask_phone",
]
