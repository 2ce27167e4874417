"""Monthly token counters per account: reserve before a call, settle to the real usage after.

The counter holds the month's settled usage plus the reservations still in flight. A reservation
is admitted only if it fits: counter + reservation <= quota, checked and added atomically (one Lua
script in Redis, one step of the event loop in memory), so however many requests run at once the
counter never passes the quota; only what a request counts beyond its reservation (its prompt
estimated low) can. A counter Redis has lost (restart, eviction) is rebuilt from the ledger.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.quota import counts_toward_quota
from schemas.tables import usage_events

# -1: no counter (rebuild it); 0: the reservation does not fit; 1: reserved. Second value: the
# counter after (before, when refused).
_RESERVE = """
local used = redis.call('GET', KEYS[1])
if not used then return {-1, 0} end
used = tonumber(used)
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, used} end
return {1, redis.call('INCRBY', KEYS[1], ARGV[1])}
"""
# Adds ARGV[1] to a counter that exists; a missing one is left missing (it is rebuilt from the ledger).
_ADJUST = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
"""
COUNTER_TTL_SECONDS = 40 * 24 * 3600  # past the month's end: a late settlement still finds it


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _month_start(month: str) -> datetime:
    year, number = map(int, month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


async def ledger_month_tokens(engine: AsyncEngine, account_id: str, month: str) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(usage_events.c.total_tokens), 0)).where(
        usage_events.c.account_id == account_id, usage_events.c.created_at >= _month_start(month),
        counts_toward_quota())
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


class MemoryQuota:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._used: dict[tuple[str, str], int] = {}

    async def reserve(self, account_id: str, month: str, tokens: int, quota: int) -> tuple[bool, int]:
        key = (account_id, month)
        if key not in self._used:
            rebuilt = await ledger_month_tokens(self.engine, account_id, month)
            self._used.setdefault(key, rebuilt)  # another request may have rebuilt it meanwhile
        used = self._used[key]
        if used + tokens > quota:
            return False, used
        self._used[key] = used + tokens
        return True, used + tokens

    async def settle(self, account_id: str, month: str, delta: int) -> None:
        key = (account_id, month)
        self._used[key] = self._used.get(key, 0) + delta

    async def adjust(self, account_id: str, month: str, delta: int) -> None:
        """Follow a change the ledger already holds (a corrected row): only a counter kept in memory."""
        key = (account_id, month)
        if key in self._used:
            self._used[key] += delta


class RedisQuota:
    def __init__(self, redis: Redis, prefix: str, engine: AsyncEngine):
        self.redis, self.prefix, self.engine = redis, prefix, engine
        self._reserve = redis.register_script(_RESERVE)
        self._adjust = redis.register_script(_ADJUST)

    def _key(self, account_id: str, month: str) -> str:
        return f"{self.prefix}quota:{{{account_id}}}:{month}"

    async def reserve(self, account_id: str, month: str, tokens: int, quota: int) -> tuple[bool, int]:
        key = self._key(account_id, month)
        for _ in range(2):
            status, used = await self._reserve(keys=[key], args=[tokens, quota])
            if status != -1:
                return status == 1, int(used)
            rebuilt = await ledger_month_tokens(self.engine, account_id, month)
            await self.redis.set(key, rebuilt, nx=True, ex=COUNTER_TTL_SECONDS)
        raise RuntimeError(f"quota counter {key} vanished twice")

    async def settle(self, account_id: str, month: str, delta: int) -> None:
        if delta:
            await self.redis.incrby(self._key(account_id, month), delta)

    async def adjust(self, account_id: str, month: str, delta: int) -> None:
        """Follow a change the ledger already holds (a corrected row). A counter Redis no longer has is
        not created from the change alone: the next request rebuilds it from the ledger, change included."""
        if delta:
            await self._adjust(keys=[self._key(account_id, month)], args=[delta])
