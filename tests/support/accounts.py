"""Changing an account behind the API's back, the way billing will: tier changes for tests."""
import sqlalchemy as sa

from control_plane.changes import record_account_change
from schemas.tables import accounts


async def set_tier(engine, account_id: str, tier: str) -> None:
    """Set the tier and announce it on the change feed, so sidecars drop their cached copy."""
    async with engine.begin() as conn:
        await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(tier=tier))
        await record_account_change(conn, account_id)
