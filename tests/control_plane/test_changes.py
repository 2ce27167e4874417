"""The account change feed keeps a day of changes: older ones can no longer evict anything."""
from datetime import timedelta

import sqlalchemy as sa

from control_plane import changes
from control_plane.clock import now
from schemas.tables import account_changes


async def test_pruning_deletes_only_changes_older_than_the_cut(migrated_engine):
    async with migrated_engine.begin() as conn:
        old = await changes.record_account_change(conn, "acct_old")
        new = await changes.record_account_change(conn, "acct_new")
        await conn.execute(sa.update(account_changes).where(account_changes.c.revision == old)
                           .values(created_at=now() - changes.RETENTION - timedelta(minutes=1)))
    async with migrated_engine.begin() as conn:
        assert await changes.prune_account_changes(conn, now() - changes.RETENTION) == 1
        left = (await conn.execute(sa.select(account_changes.c.revision))).scalars().all()
    assert left == [new]
