"""usage.quota_threshold: noticing that an account crossed 80 % or 100 % of its monthly tokens.

Every couple of seconds the watch takes the accounts with ledger rows created since its last look
(minus an overlap, since rows can land in the ledger late), sums each one's month-to-date tokens and
compares them with its tier's `monthly_tokens` in gateway.yaml (null: unlimited, never notified).
A row in quota_notifications per (account, month, threshold), inserted in the same transaction as
the event, makes each notification exactly-once, across restarts and replicas alike.
On start it looks at the whole month, so what happened while it was down is not missed.
"""
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from control_plane import clock
from control_plane.background import Loop
from control_plane.webhooks.events import emit
from schemas.gateway import GatewayConfig
from schemas.quota import counts_toward_quota
from schemas.tables import accounts, quota_notifications, usage_events

THRESHOLDS = (80, 100)  # percent
OVERLAP = timedelta(minutes=10)
CHUNK = 500  # accounts per query
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, (start + timedelta(days=32)).replace(day=1)


def crossed(used: int, quota: int | None) -> list[int]:
    """The thresholds `used` tokens reach out of `quota` (None: unlimited)."""
    if quota is None:
        return []
    return [t for t in THRESHOLDS if used * 100 >= quota * t]


class QuotaWatch:
    def __init__(self, engine: AsyncEngine, config: Callable[[], GatewayConfig], *, interval: float = 2.0):
        self.engine, self.config = engine, config
        self.since: datetime | None = None
        self.loop = Loop("quota-watch", self.run_once, interval)

    def start(self) -> None:
        self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def run_once(self) -> bool:
        now = clock.now()
        start, end = month_bounds(now)
        candidates = await self._recently_active(self.since or start)
        for first in range(0, len(candidates), CHUNK):
            await self._check(candidates[first:first + CHUNK], now, start, end)
        self.since = now - OVERLAP
        return False  # one look per interval

    async def _recently_active(self, since: datetime) -> list[str]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(usage_events.c.account_id).distinct()
                                            .where(usage_events.c.created_at >= since))).scalars())

    async def _check(self, account_ids: list[str], now: datetime, start: datetime, end: datetime) -> None:
        period = now.strftime("%Y-%m")
        async with self.engine.connect() as conn:
            totals = (await conn.execute(
                sa.select(accounts.c.id, accounts.c.tier, sa.func.coalesce(sa.func.sum(usage_events.c.total_tokens), 0))
                .join(usage_events, usage_events.c.account_id == accounts.c.id)
                .where(accounts.c.id.in_(account_ids), usage_events.c.created_at >= start,
                       usage_events.c.created_at < end, counts_toward_quota())
                .group_by(accounts.c.id, accounts.c.tier))).all()
            done = set((await conn.execute(
                sa.select(quota_notifications.c.account_id, quota_notifications.c.threshold).where(
                    quota_notifications.c.account_id.in_(account_ids), quota_notifications.c.period == period))).all())
        tiers = self.config().tiers
        for account_id, tier, used in totals:
            quota = tiers.get(tier, {}).get("monthly_tokens")
            for threshold in crossed(int(used), quota):
                if (account_id, threshold) not in done:
                    data = {"threshold_percent": threshold, "period": period, "used_tokens": int(used),
                            "monthly_tokens": quota, "tier": tier}
                    await self._notify(account_id, data)

    async def _notify(self, account_id: str, data: dict) -> None:
        async with self.engine.begin() as conn:
            if await _claim_notification(conn, account_id, data["period"], data["threshold_percent"]):
                await emit(conn, account_id, "usage.quota_threshold", data)


async def _claim_notification(conn: AsyncConnection, account_id: str, period: str, threshold: int) -> bool:
    """True for the one transaction that records this notification first."""
    statement = _INSERTS[conn.dialect.name](quota_notifications).values(
        account_id=account_id, period=period, threshold=threshold, created_at=clock.now())
    return (await conn.execute(statement.on_conflict_do_nothing())).rowcount == 1
