"""The account change feed that sidecars poll to evict cached identities, and its pruning."""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane.background import Loop
from control_plane.clock import now
from schemas.tables import account_changes, revisions

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


def pruning_loop(engine: AsyncEngine) -> Loop:
    """Prunes the feed every PRUNE_EVERY_SECONDS, outliving database outages like the other loops."""
    async def step() -> bool:
        async with engine.begin() as conn:
            await prune_account_changes(conn, now() - RETENTION)
        return False

    return Loop("account-changes-prune", step, PRUNE_EVERY_SECONDS)
