"""submit / submit_batch write the caller's audit entry in the intake transaction: exactly
when an incident is created, never for a retry or a refused body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from gis.errors import InvalidInput
from gis.incidents.intake import IntakeContext
from gis.incidents.service import submit, submit_batch
from gis.security.audit import Entry
from gis.security.roles import Principal
from gis.store.models import AUDIT_LOG, INCIDENTS
from tests.gis.incidents.conftest import body

WHO = Principal(key_id="svc0000001", name="service test", role="admin")
TAG = "svc-audit-"


@pytest.fixture
def cleanup(street_engine: Engine) -> Iterator[None]:
    """submit commits: remove this test's incidents and audit rows afterwards."""
    yield
    with street_engine.begin() as conn:
        conn.execute(delete(INCIDENTS).where(INCIDENTS.c.external_id.startswith(TAG)))
        conn.execute(delete(AUDIT_LOG).where(AUDIT_LOG.c.key_id == WHO.key_id))


def _entries(engine: Engine) -> list[tuple[str, str, str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AUDIT_LOG.c.action, AUDIT_LOG.c.target, AUDIT_LOG.c.client, AUDIT_LOG.c.detail)
            .where(AUDIT_LOG.c.key_id == WHO.key_id)
            .order_by(AUDIT_LOG.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.mark.usefixtures("cleanup")
def test_submit_audits_a_creation_once(street_engine: Engine, ctx: IntakeContext) -> None:
    entry = Entry(WHO, "incident.create", "10.0.0.7")
    feature, created = submit(street_engine, ctx, body(external_id=TAG + "1"), audit=entry)
    assert created
    assert _entries(street_engine) == [
        ("incident.create", f"incident/{feature['id']}", "10.0.0.7", {})
    ]
    again, created = submit(street_engine, ctx, body(external_id=TAG + "1"), audit=entry)
    assert not created and again["id"] == feature["id"]
    with pytest.raises(InvalidInput):
        submit(street_engine, ctx, body(external_id=TAG + "2", category="nope"), audit=entry)
    assert len(_entries(street_engine)) == 1  # neither the retry nor the refusal


@pytest.mark.usefixtures("cleanup")
def test_submit_batch_audits_the_created_ids(street_engine: Engine, ctx: IntakeContext) -> None:
    entry = Entry(WHO, "incident.create_batch", "10.0.0.8")
    items = [body(external_id=TAG + "b1"), body(category="nope"), body(external_id=TAG + "b2")]
    answer = submit_batch(street_engine, ctx, items, audit=entry)
    ids = [r["id"] for r in answer["results"] if r.get("created")]
    assert len(ids) == 2
    assert _entries(street_engine) == [
        ("incident.create_batch", "2 incidents", "10.0.0.8", {"ids": ids})
    ]
    answer = submit_batch(street_engine, ctx, items[:1], audit=entry)
    assert answer["created"] == 0 and len(_entries(street_engine)) == 1
