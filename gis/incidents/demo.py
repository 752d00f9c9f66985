"""A deterministic 90-day incident history for the demo street (``make demo``): thousands of
incidents over every category, in every state, some overdue, some duplicates, some reported
by address only (resolved through the demo gazetteer), some with GCJ-02 app coordinates.

Taken in through the real intake (assignment, snapshot, duplicates, SLA), then moved along
the lifecycle in bulk with one event per step. The same seed gives the same incidents; the
history ends at the local midnight of the load day, so "the last 90 days" always has data.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Text,
    Values,
    column,
    func,
    select,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.expression import ColumnClause

from gis.assign.service import Assigner
from gis.crs import wgs84_to_gcj02
from gis.geocode.cache import GazetteerCache
from gis.incidents.categories import ensure_categories, load_categories
from gis.incidents.intake import IntakeContext, Taken, intake
from gis.incidents.locating import gazetteer_resolver
from gis.incidents.worktime import WorkCalendar
from gis.store.models import AREAS, BUILDINGS, INCIDENT_EVENTS, INCIDENTS

DAYS = 90
PER_DAY = 40
SEED = 13
PREFIX = "demo-"
# relative frequency of each category on a residential street
WEIGHTS = {
    "garbage": 26,
    "ebike_charging": 10,
    "water_leak": 12,
    "noise": 14,
    "illegal_parking": 12,
    "standing_water": 6,
    "thrown_from_height": 4,
    "facility_damage": 14,
    "public_health": 2,
}
SOURCES = (("hotline", 45), ("app", 25), ("patrol", 20), ("camera", 10))
STAFF = ("王芳", "李强", "张伟", "刘洋", "陈静", "杨磊")


@dataclass(frozen=True)
class DemoReport:
    created: int
    existing: int
    by_status: dict[str, int]
    duplicates: int
    needs_review: int
    overdue: int

    def lines(self) -> list[str]:
        states = ", ".join(f"{v} {k}" for k, v in sorted(self.by_status.items()))
        return [
            f"incidents: {self.created} added, {self.existing} already there ({states}); "
            f"{self.duplicates} duplicates, {self.needs_review} need review, "
            f"{self.overdue} overdue"
        ]


def _points(engine: Engine, n: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """n points inside the current micro-grids, clustered around a few hotspots."""
    with engine.connect() as conn:
        wkb = conn.execute(
            select(func.ST_AsBinary(func.ST_Union(AREAS.c.geom))).where(
                AREAS.c.level == "micro_grid",
                AREAS.c.valid.contains(
                    select(func.max(func.lower(AREAS.c.valid))).scalar_subquery()
                ),
            )
        ).scalar_one()
    union = shapely.from_wkb(bytes(wkb))
    shapely.prepare(union)
    west, south, east, north = union.bounds
    hot: list[tuple[float, float]] = []
    while len(hot) < 8:
        x, y = rng.uniform(west, east), rng.uniform(south, north)
        if shapely.contains_xy(union, x, y):
            hot.append((x, y))
    out: list[tuple[float, float]] = []
    while len(out) < n:
        if rng.random() < 0.35:
            cx, cy = hot[int(rng.integers(len(hot)))]
            x, y = cx + rng.normal(0, 0.0006), cy + rng.normal(0, 0.0006)
        else:
            x, y = rng.uniform(west, east), rng.uniform(south, north)
        if shapely.contains_xy(union, x, y):
            out.append((x, y))
    return np.array(out)


def _bodies(engine: Engine, end: datetime, rng: random.Random) -> list[dict[str, Any]]:
    nrng = np.random.default_rng(SEED)
    n = DAYS * PER_DAY
    pts = _points(engine, n, nrng)
    with engine.connect() as conn:
        addresses = [
            a
            for a in conn.execute(select(BUILDINGS.c.address).order_by(BUILDINGS.c.code)).scalars()
            if a
        ]
    cats, weights = list(WEIGHTS), list(WEIGHTS.values())
    sources, sweights = [s for s, _ in SOURCES], [w for _, w in SOURCES]
    bodies: list[dict[str, Any]] = []
    for k in range(n):
        day = rng.randrange(DAYS)
        hour = min(max(rng.gauss(13, 4), 0), 23.9)
        at = end - timedelta(days=DAYS - day) + timedelta(hours=hour)
        body: dict[str, Any] = {
            "category": rng.choices(cats, weights)[0],
            "source": rng.choices(sources, sweights)[0],
            "reported_at": at.isoformat(),
            "external_id": f"{PREFIX}{k:05d}",
            "description": "",
        }
        x, y = float(pts[k][0]), float(pts[k][1])
        roll = rng.random()
        if roll < 0.10 and addresses:  # by address only, as the hotline writes it down
            address = rng.choice(addresses)
            body["address"] = (
                rng.choice(["", "上海市", "普陀区"])
                + address
                + rng.choice(["", "门口", "附近", "楼下"])
            )
        elif roll < 0.115:  # an address nobody can find
            body["address"] = rng.choice(["小区后门那边", "菜场对面弄堂里", "老公房门口"])
        elif body["source"] == "app":  # the mini-program sends GCJ-02
            gx, gy = wgs84_to_gcj02(lon=x, lat=y)
            body.update(lon=round(float(gx), 7), lat=round(float(gy), 7), crs="gcj02")
        else:
            body.update(lon=round(x, 7), lat=round(y, 7))
        bodies.append(body)
        if rng.random() < 0.06 and "lon" in body and body.get("crs") is None:
            # a neighbour calls about the same thing shortly after: a duplicate
            again = dict(body)
            again["external_id"] = f"{PREFIX}{k:05d}-again"
            again["lon"] = round(x + rng.uniform(-8e-5, 8e-5), 7)
            again["reported_at"] = (at + timedelta(minutes=rng.uniform(5, 120))).isoformat()
            again["source"] = "hotline"
            bodies.append(again)
    bodies.sort(key=lambda b: (b["reported_at"], b["external_id"]))
    return bodies


def _lifecycle(
    taken: list[Taken],
    bodies: list[dict[str, Any]],
    sla_hours: dict[str, float],
    end: datetime,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Final state, times and events of each created, assigned incident."""
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for t, body in zip(taken, bodies, strict=True):
        if not t.created or t.status != "assigned" or t.id is None:
            continue
        reported = datetime.fromisoformat(body["reported_at"])
        age_h = (end - reported).total_seconds() / 3600
        sla = sla_hours[body["category"]]
        assigned = reported + timedelta(minutes=rng.lognormvariate(math.log(5), 0.8))
        steps: list[tuple[str, datetime, str]] = []
        start = assigned + timedelta(minutes=rng.uniform(5, 90))
        late = rng.random() < 0.07
        resolve = start + timedelta(
            hours=sla * (rng.uniform(1.1, 2.5) if late else rng.uniform(0.1, 0.9))
        )
        state = "assigned"
        fresh = age_h < 8 and rng.random() < 0.5  # not yet started by the load day
        if start < end and not fresh:
            steps.append(("in_progress", start, "已到现场"))
            state = "in_progress"
        roll = rng.random()
        if state == "in_progress" and roll < 0.03:
            steps.append(("suspended", start + timedelta(hours=1), "需业主配合, 暂挂账"))
            state = "suspended"
        elif state == "in_progress" and roll < 0.05:
            steps.append(("returned", start + timedelta(minutes=30), "不属本网格, 回退派单"))
            state = "returned"
        elif state == "in_progress" and roll < 0.09 and resolve > end - timedelta(days=3):
            steps.append(("extended", start + timedelta(hours=1), "等待维修配件"))
            state = "extended"
        elif state == "in_progress" and resolve < end:
            steps.append(("resolved", resolve, "已处理"))
            state = "resolved"
            if rng.random() < 0.05 and resolve + timedelta(hours=30) < end:
                steps.append(("reopened", resolve + timedelta(hours=20), "居民反映未解决"))
                state = "reopened"
                if rng.random() < 0.7:
                    resolve = resolve + timedelta(hours=28)
                    steps.append(("resolved", resolve, "复查已处理"))
                    state = "resolved"
            close = resolve + timedelta(hours=rng.uniform(2, 48))
            if state == "resolved" and close < end and age_h > 24:
                steps.append(("closed", close, "居民满意, 结案"))
                state = "closed"
        assert t.due_at is not None
        extension = timedelta(hours=sla if state == "extended" else 0)
        row: dict[str, Any] = {
            "b_id": t.id,
            "due_at": t.due_at + extension,
            "status": state,
            "assigned_at": assigned,
            "resolved_at": resolve if state in ("resolved", "closed") else None,
            "closed_at": steps[-1][1] if state == "closed" else None,
        }
        updates.append(row)
        actor = rng.choice(STAFF)
        previous = "assigned"
        events.append(_event(t.id, "reported", "assigned", "system", "assigned", assigned))
        for to, at, note in steps:
            events.append(_event(t.id, previous, to, actor, note, at))
            previous = to
    return updates, events


#: rows per multi-row statement (PostgreSQL takes at most 65,535 parameters in one)
ROWS_PER_STATEMENT = 5000
#: the columns of an incident's final state, its id first
_FINAL = ("b_id", "status", "assigned_at", "resolved_at", "closed_at", "due_at")


def _final_states(rows: list[dict[str, Any]]) -> Values:
    columns: list[ColumnClause[Any]] = [
        column("b_id", BigInteger()),
        column("status", Text()),
        *(column(name, DateTime(timezone=True)) for name in _FINAL[2:]),
    ]
    return values(*columns, name="final").data([tuple(r[n] for n in _FINAL) for r in rows])


def _event(ident: int, frm: str, to: str, actor: str, note: str, at: datetime) -> dict[str, Any]:
    return {
        "incident_id": ident,
        "kind": "transition",
        "from_status": frm,
        "to_status": to,
        "actor": actor,
        "note": note,
        "at": at,
        "geom": None,
        "details": {},
    }


def load_demo_incidents(
    engine: Engine, progress: Callable[[str], None] = lambda _: None
) -> DemoReport:
    """Load the demo history unless it is there already (its external ids are ``demo-…``)."""
    tz = ZoneInfo("Asia/Shanghai")
    end = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(SEED)
    with engine.begin() as conn:
        ensure_categories(conn)
        sla = {c.code: c.sla_hours for c in load_categories(conn).values()}
    bodies = _bodies(engine, end, rng)
    ctx = IntakeContext(
        Assigner(engine), WorkCalendar(), gazetteer_resolver(GazetteerCache(engine))
    )
    progress(f"taking in {len(bodies)} demo incidents")
    with engine.begin() as conn:
        taken: list[Taken] = []
        for k in range(0, len(bodies), 5000):
            taken += intake(conn, ctx, bodies[k : k + 5000], actor="demo", assign_at="reported")
        updates, events = _lifecycle(taken, bodies, sla, end, rng)
        # the intake's own "assigned" events are replaced by the timed ones above
        created = [t.id for t in taken if t.created and t.status == "assigned"]
        if created:
            conn.execute(
                INCIDENT_EVENTS.delete().where(
                    INCIDENT_EVENTS.c.incident_id.in_(created),
                    INCIDENT_EVENTS.c.to_status == "assigned",
                )
            )
        # a few multi-row statements: an executemany ran every statement trigger (data
        # version, facts, outbox) once per row, and the history took 73 s instead of 9
        for k in range(0, len(updates), ROWS_PER_STATEMENT):
            final = _final_states(updates[k : k + ROWS_PER_STATEMENT])
            conn.execute(
                update(INCIDENTS)
                .where(INCIDENTS.c.id == final.c.b_id)
                .values({name: final.c[name] for name in _FINAL[1:]})
            )
        for k in range(0, len(events), ROWS_PER_STATEMENT):
            conn.execute(insert(INCIDENT_EVENTS).values(events[k : k + ROWS_PER_STATEMENT]))
        counts: dict[str, int] = dict(
            conn.execute(
                select(INCIDENTS.c.status, func.count()).group_by(INCIDENTS.c.status)
            ).all()
        )
        now = datetime.now(UTC)
        late = conn.execute(
            select(func.count()).where(
                INCIDENTS.c.due_at
                < func.coalesce(INCIDENTS.c.resolved_at, INCIDENTS.c.closed_at, now)
            )
        ).scalar_one()
        dups = conn.execute(
            select(func.count()).where(INCIDENTS.c.duplicate_of.is_not(None))
        ).scalar_one()
        review = conn.execute(
            select(func.count()).where(INCIDENTS.c.location_status == "needs_review")
        ).scalar_one()
    return DemoReport(
        created=sum(t.created for t in taken),
        existing=sum(not t.created and t.error is None for t in taken),
        by_status={k: int(v) for k, v in counts.items()},
        duplicates=int(dups),
        needs_review=int(review),
        overdue=int(late),
    )
