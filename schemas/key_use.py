"""A key's last use (api_keys.last_used_at), set where usage events land in the ledger: by the control
plane's ledger consumer once per batch, or by the embedded sidecar's ledger writer with each row it
writes anyway. Never on the request path of a sidecar that has a queue (Redis).

One statement for the whole batch (executemany), one row per key with the latest of its events'
times, in key order so that two consumers landing overlapping batches lock rows in the same order.
A late event (a slow or replayed sidecar) never moves the time backwards.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.tables import api_keys

_USED = sa.bindparam("used", type_=api_keys.c.last_used_at.type)
_MARK = (sa.update(api_keys)
         .where(api_keys.c.id == sa.bindparam("key"),
                sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < _USED))
         .values(last_used_at=_USED))


def latest_use(events) -> dict[str, float]:
    """key_id -> the latest created_at (unix seconds) among `events`; sessions' events (no key) left out."""
    latest: dict[str, float] = {}
    for event in events:
        if event.key_id and event.created_at > latest.get(event.key_id, float("-inf")):
            latest[event.key_id] = event.created_at
    return latest


async def mark_keys_used(conn: AsyncConnection, events) -> None:
    latest = latest_use(events)
    if latest:
        await conn.execute(_MARK, [{"key": key, "used": datetime.fromtimestamp(latest[key], UTC)}
                                   for key in sorted(latest)])
