"""usage.spend_cap_threshold: noticing that an account's month reached 80 % or 100 % of its spend cap.

The cap is the lower of the tier's `monthly_spend_cap_usd` (gateway.yaml) and the account's own
(schemas.spend.effective_cap_nanos); what counts is the month's charged cost in the ledger
(schemas.spend.month_spend). As the quota watch does for tokens (quota_watch.py): every couple of
seconds the accounts with ledger rows since the last look (minus an overlap) are compared with their
cap, and a row in spend_cap_notifications per (account, month, threshold), inserted in the event's
transaction, makes each notification exactly-once across restarts and replicas. An account whose
cap is lowered under what it already spent is checked by the change itself (PATCH
/v1/billing/spend_cap): its refused requests leave no ledger row for the watch to notice.

100 % means the month's charges reached the cap. Requests are refused before that when they could
cost more than what is left (429 spend_cap_reached), so a month may end refused just under its cap.
"""
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane import clock
from control_plane.background import Loop
from control_plane.webhooks.events import emit
from control_plane.webhooks.quota_watch import OVERLAP, crossed, month_bounds
from schemas.gateway import GatewayConfig, tier_spend_cap_nanos
from schemas.pricing import format_usd
from schemas.spend import effective_cap_nanos, month_spend
from schemas.tables import accounts, spend_cap_notifications, usage_events

EVENT = "usage.spend_cap_threshold"
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


async def notify_crossings(conn: AsyncConnection, account, config: GatewayConfig, now: datetime) -> None:
    """Emit, in `conn`'s transaction, each threshold of its cap the account's month reached and was not
    yet notified of; `account` is its accounts row (id, tier, spend_cap_nanos)."""
    tier = config.tiers.get(account.tier) or config.tiers["free"]
    cap = effective_cap_nanos(tier, account.spend_cap_nanos)
    if cap is None:
        return
    start, end = month_bounds(now)
    spent = int((await conn.execute(month_spend(account.id, start, end))).scalar_one())
    period = now.strftime("%Y-%m")
    for threshold in crossed(spent, cap):
        if await _claim(conn, account.id, period, threshold):
            own = account.spend_cap_nanos is not None and account.spend_cap_nanos == cap
            await emit(conn, account.id, EVENT, {
                "threshold_percent": threshold, "period": period, "spent_usd": format_usd(spent),
                "monthly_spend_cap_usd": format_usd(cap), "cap": "account" if own else "tier",
                "tier": account.tier})


async def _claim(conn: AsyncConnection, account_id: str, period: str, threshold: int) -> bool:
    """True for the one transaction that records this notification first."""
    statement = _INSERTS[conn.dialect.name](spend_cap_notifications).values(
        account_id=account_id, period=period, threshold=threshold, created_at=clock.now())
    return (await conn.execute(statement.on_conflict_do_nothing())).rowcount == 1


class SpendWatch:
    def __init__(self, engine: AsyncEngine, config: Callable[[], GatewayConfig], *, interval: float = 2.0):
        self.engine, self.config = engine, config
        self.since: datetime | None = None
        self.loop = Loop("spend-watch", self.run_once, interval)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def run_once(self) -> bool:
        now = clock.now()
        config = self.config()
        capped_tiers = [name for name, tier in config.tiers.items() if tier_spend_cap_nanos(tier) is not None]
        for account in await self._recently_active(self.since or month_bounds(now)[0], capped_tiers):
            async with self.engine.begin() as conn:
                await notify_crossings(conn, account, config, now)
        self.since = now - OVERLAP
        return False  # one look per interval

    async def _recently_active(self, since: datetime, capped_tiers: list[str]) -> list:
        """The accounts with a cap (their own, or their tier's) and ledger rows created since `since`."""
        active = sa.select(usage_events.c.account_id).distinct().where(usage_events.c.created_at >= since)
        query = sa.select(accounts.c.id, accounts.c.tier, accounts.c.spend_cap_nanos).where(
            accounts.c.id.in_(active),
            sa.or_(accounts.c.spend_cap_nanos.is_not(None), accounts.c.tier.in_(capped_tiers)))
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).all()
