"""Changing an account's tier, and which tiers it held when.

A change commits together with its entry on the account change feed, so every sidecar drops its
cached copy of the account within a poll (~0.25 s) and applies the new tier's limits, quota and
X-Tier from the next request on.
"""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.billing.metrics import TIER_CHANGES
from control_plane.changes import record_account_change
from control_plane.ids import new_id
from control_plane.webhooks.events import emit
from schemas.tables import accounts, tier_changes


async def change_tier(conn: AsyncConnection, account_id: str, tier: str, reason: str) -> str | None:
    """The previous tier when this changed it; None when the account was already on it (or is gone)."""
    current = (await conn.execute(sa.select(accounts.c.tier).where(accounts.c.id == account_id)
                                  .with_for_update())).scalar()
    if current is None or current == tier:
        return None
    now = clock.now()
    await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(tier=tier))
    await conn.execute(sa.insert(tier_changes).values(id=new_id("tierchg"), account_id=account_id, from_tier=current,
                                                      to_tier=tier, reason=reason, changed_at=now))
    await record_account_change(conn, account_id)
    await emit(conn, account_id, "billing.tier_changed",
               {"previous_tier": current, "tier": tier, "reason": reason, "changed_at": clock.iso(now)})
    TIER_CHANGES.labels(reason).inc()
    return current


async def history(conn: AsyncConnection, account_id: str) -> list[tuple[datetime, str, str]]:
    """(changed_at, from_tier, to_tier), oldest first."""
    rows = (await conn.execute(sa.select(tier_changes.c.changed_at, tier_changes.c.from_tier, tier_changes.c.to_tier)
                               .where(tier_changes.c.account_id == account_id)
                               .order_by(tier_changes.c.changed_at))).all()
    return [(clock.as_utc(at), before, after) for at, before, after in rows]


def held_during(changes: list, current: str, start: datetime, end: datetime) -> list[str]:
    """Every tier the account held within [start, end): the one at start, then each change's."""
    before = [after for at, _, after in changes if at < start]
    at_start = before[-1] if before else (changes[0][1] if changes else current)
    return [at_start, *(after for at, _, after in changes if start <= at < end)]
