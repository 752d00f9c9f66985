"""Kept for imports written before :mod:`gis.access` owned the principal and the roles."""

from gis.access.roles import (
    ANONYMOUS,
    PERMISSIONS,
    PUBLIC_PERMISSIONS,
    ROLES,
    Principal,
    mask_phone,
)

__all__ = ["ANONYMOUS", "PERMISSIONS", "PUBLIC_PERMISSIONS", "ROLES", "Principal", "mask_phone"]
