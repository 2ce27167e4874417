"""Telemetry rows: the latest heartbeat per CLI instance, and events."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.db.upsert import insert_for
from schemas.tables import telemetry_events, telemetry_instances

instances = telemetry_instances


async def record_ping(conn: AsyncConnection, ping: dict, ip_hash: str, now: datetime) -> None:
    """Insert the instance, or refresh its version, platform and last-seen time."""
    statement = insert_for(conn, instances).values(**ping, ip_hash=ip_hash, pings=1, first_seen_at=now,
                                                   last_seen_at=now)
    await conn.execute(statement.on_conflict_do_update(index_elements=["instance_id"], set_={
        "version": statement.excluded.version, "os": statement.excluded.os, "arch": statement.excluded.arch,
        "ip_hash": statement.excluded.ip_hash, "last_seen_at": statement.excluded.last_seen_at,
        "pings": instances.c.pings + 1}))


async def record_events(conn: AsyncConnection, rows: list[dict], ip_hash: str) -> None:
    """All of them in one statement of the caller's transaction: a batch lands whole or not at all."""
    await conn.execute(sa.insert(telemetry_events), [{**row, "ip_hash": ip_hash} for row in rows])
