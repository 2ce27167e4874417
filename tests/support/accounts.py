"""Changing an account behind the API's back, the way billing will: tier changes for tests."""
import sqlalchemy as sa

from control_plane.changes import record_account_change
from schemas.tables import accounts


async def set_tier(engine, account_id: str, tier: str) -> None:
    """Set the tier and announce it on the change feed, so sidecars drop their cached copy."""
    async with engine.begin() as conn:
        await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(tier=tier))
        await record_account_change(conn, account_id)


async def set_spend_cap(engine, account_id: str, nanos: int | None) -> None:
    """Set (None: remove) the account's own monthly spend cap, announced on the change feed."""
    async with engine.begin() as conn:
        await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(spend_cap_nanos=nanos))
        await record_account_change(conn, account_id)
