"""The account change feed that sidecars poll to evict cached identities."""
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.clock import now
from schemas.tables import account_changes, revisions

FEED = "account_changes"


async def record_account_change(conn: AsyncConnection, account_id: str) -> int:
    """Call inside the transaction that makes the change, so both commit together."""
    revision = (await conn.execute(
        sa.update(revisions).where(revisions.c.name == FEED)
        .values(value=revisions.c.value + 1).returning(revisions.c.value))).scalar_one()
    await conn.execute(sa.insert(account_changes).values(
        revision=revision, account_id=account_id, created_at=now()))
    return revision
