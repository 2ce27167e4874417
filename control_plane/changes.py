"""The account change feed that sidecars poll to evict cached identities, and its pruning."""
import asyncio
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane.clock import now
from schemas.tables import account_changes, revisions

log = logging.getLogger(__name__)
FEED = "account_changes"
# Far longer than any sidecar caches an identity: a change this old has nothing left to evict.
RETENTION = timedelta(days=1)
PRUNE_EVERY_SECONDS = 3600


async def record_account_change(conn: AsyncConnection, account_id: str) -> int:
    """Call inside the transaction that makes the change, so both commit together."""
    revision = (await conn.execute(
        sa.update(revisions).where(revisions.c.name == FEED)
        .values(value=revisions.c.value + 1).returning(revisions.c.value))).scalar_one()
    await conn.execute(sa.insert(account_changes).values(
        revision=revision, account_id=account_id, created_at=now()))
    return revision


async def prune_account_changes(conn: AsyncConnection, before: datetime) -> int:
    """Deletes the changes recorded before `before`; returns how many."""
    return (await conn.execute(sa.delete(account_changes).where(account_changes.c.created_at < before))).rowcount


async def prune_forever(engine: AsyncEngine) -> None:
    while True:
        try:
            async with engine.begin() as conn:
                await prune_account_changes(conn, now() - RETENTION)
        except Exception as exc:  # noqa: BLE001 - the database may be away: try again next time
            log.warning("could not prune the account change feed: %s", type(exc).__name__)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
