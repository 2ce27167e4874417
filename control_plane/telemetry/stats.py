"""GET /v1/telemetry/stats: what the fleet of CLI instances looks like, aggregated.

Active instances sent a ping within 1, 7 or 30 days; versions count the instances active within
30 days by the version they last reported; events count the last 30 days by the UTC day they
happened on (days without events are listed with 0).
"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from schemas.tables import telemetry_events as events
from schemas.tables import telemetry_instances as instances

ACTIVE_WINDOWS = (1, 7, 30)  # days
DAYS = 30
TOP_EVENTS = 20
TOP_VERSIONS = 50


async def _active(conn: AsyncConnection, now: datetime) -> dict:
    counts = {}
    for days in ACTIVE_WINDOWS:
        counts[f"{days}d"] = (await conn.execute(sa.select(sa.func.count()).select_from(instances).where(
            instances.c.last_seen_at >= now - timedelta(days=days)))).scalar_one()
    return counts


async def _versions(conn: AsyncConnection, now: datetime) -> list[dict]:
    count = sa.func.count().label("n")
    rows = await conn.execute(sa.select(instances.c.version, count)
                              .where(instances.c.last_seen_at >= now - timedelta(days=DAYS))
                              .group_by(instances.c.version).order_by(count.desc(), instances.c.version)
                              .limit(TOP_VERSIONS))
    return [{"version": version, "instances": n} for version, n in rows]


async def _top_events(conn: AsyncConnection, first_day) -> list[dict]:
    count = sa.func.count().label("n")
    rows = await conn.execute(sa.select(events.c.name, count).where(events.c.day >= first_day)
                              .group_by(events.c.name).order_by(count.desc(), events.c.name).limit(TOP_EVENTS))
    return [{"name": name, "count": n} for name, n in rows]


async def _per_day(conn: AsyncConnection, first_day) -> list[dict]:
    rows = await conn.execute(sa.select(events.c.day, sa.func.count()).where(events.c.day >= first_day)
                              .group_by(events.c.day))
    counts = {day: n for day, n in rows}
    days = [first_day + timedelta(days=offset) for offset in range(DAYS)]
    return [{"date": day.isoformat(), "count": counts.get(day, 0)} for day in days]


async def fleet_stats(conn: AsyncConnection) -> dict:
    now = clock.now()
    first_day = now.date() - timedelta(days=DAYS - 1)
    return {"object": "telemetry.stats", "generated_at": clock.iso(now),
            "active_instances": await _active(conn, now), "versions": await _versions(conn, now),
            "top_events": await _top_events(conn, first_day), "events_per_day": await _per_day(conn, first_day)}
