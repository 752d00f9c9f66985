"""Incidents: intake with responsibility snapshot, lifecycle with SLAs, reading and stats."""
