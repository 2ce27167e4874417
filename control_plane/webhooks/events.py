"""Emitting account events (billing.tier_changed, key.created, ...) for webhook delivery.

`emit` is called inside the transaction that makes the change, so an event exists exactly when
its change committed. It queues one delivery row per subscribed webhook; the delivery worker
(control_plane/webhooks/delivery.py) sends them. The table is the durable queue: a restart of
the control plane loses nothing.

Every delivery body is {"id": "evt_...", "type", "created_at", "account_id", "data": {...}}; the
webhooks of one event share its id, which receivers can use to drop duplicates.
"""
import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.ids import new_id
from schemas.tables import webhook_deliveries, webhooks

EVENT_TYPES = ("usage.quota_threshold", "billing.tier_changed", "key.created", "key.updated", "key.revoked",
               "invoice.created", "usage.spend_cap_threshold")


def event_body(event_id: str, event_type: str, account_id: str, data: dict, created_at) -> str:
    return json.dumps({"id": event_id, "type": event_type, "created_at": clock.iso(created_at),
                       "account_id": account_id, "data": data}, separators=(",", ":"), sort_keys=True)


async def subscribers(conn: AsyncConnection, account_id: str, event_type: str) -> list[str]:
    rows = (await conn.execute(sa.select(webhooks.c.id, webhooks.c.events).where(
        webhooks.c.account_id == account_id, webhooks.c.deleted_at.is_(None)))).all()
    return [row.id for row in rows if event_type in row.events]


async def emit(conn: AsyncConnection, account_id: str, event_type: str, data: dict) -> str | None:
    """Queue `event_type` for every webhook of the account that subscribes to it; returns the
    event id, or None when no webhook wants it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    targets = await subscribers(conn, account_id, event_type)
    if not targets:
        return None
    now, event_id = clock.now(), new_id("evt")
    payload = event_body(event_id, event_type, account_id, data, now)
    await conn.execute(sa.insert(webhook_deliveries), [
        {"id": new_id("dlv"), "webhook_id": webhook_id, "account_id": account_id, "event_id": event_id,
         "event_type": event_type, "payload": payload, "status": "pending", "attempts": 0,
         "next_attempt_at": now, "created_at": now, "completed_at": None, "last_error": None}
        for webhook_id in targets])
    return event_id
