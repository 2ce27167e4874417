"""Monthly spend counters in nano-dollars: an API key's (its budget) and an account's (its spend cap).

One counter per limited key and one per account with a cap, in one hash per (account, calendar month
UTC): "key:<id>" and "account". Each holds the month's settled cost plus the reservations still in
flight. A request's reservation is admitted only if it fits every limit that applies to it —
`counter + reservation <= limit` for each — checked and added to all of them at once (one Lua script
in Redis, one step of the event loop in memory), so no number of concurrent requests can pass a limit;
only what a request costs beyond its reservation could.

A counter that does not exist (first use this month, Redis restarted, the hash expired) is rebuilt
from the ledger: the month's sum of `cost_nanos` for the key, or the account. Requests under no limit
touch no counter, so a counter whose limit is removed must not outlive it (it would miss what is spent
until the limit comes back): when the account change feed names an account, its counters whose limit
is gone are dropped (`forget`), and rebuilt if the limit returns. A changed amount keeps its counter,
and the reservations in flight with it. Every hash carries a generation (`gen`): a settlement applies
only to the generation it reserved in, so a reservation is never taken off a rebuilt counter that
never held it.
"""
import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.spend import month_spend
from schemas.tables import accounts, api_keys

log = logging.getLogger(__name__)
ACCOUNT = "account"  # the account's counter in the month's hash; a key's is key_field(key_id)
COUNTER_TTL_SECONDS = 40 * 24 * 3600  # past the month's end: a late settlement still finds it

# KEYS[1]: the month's hash. ARGV[1]: the reservation; then (field, limit) pairs.
# {1, gen}: reserved on every field. {0, i, counter, gen}: the i-th limit refuses (nothing added).
# {-1, i}: the i-th counter does not exist (i = 0: the hash itself): rebuild it and ask again.
_RESERVE = """
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen then return {-1, 0} end
local amount = tonumber(ARGV[1])
local counters = {}
for i = 2, #ARGV, 2 do
  local counter = redis.call('HGET', KEYS[1], ARGV[i])
  if not counter then return {-1, i / 2} end
  if tonumber(counter) + amount > tonumber(ARGV[i + 1]) then return {0, i / 2, counter, gen} end
end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[1]) end
return {1, gen}
"""
# KEYS[1]: the month's hash. ARGV: a new generation, the field, its value from the ledger, the TTL.
_SEED = """
redis.call('HSETNX', KEYS[1], 'gen', ARGV[1])
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
"""
# KEYS[1]: the month's hash. ARGV[1]: the generation reserved in ('' for any); ARGV[2]: the change;
# then the fields. A field that is gone (or a hash of another generation) is left alone.
_SETTLE = """
local gen = redis.call('HGET', KEYS[1], 'gen')
if not gen or (ARGV[1] ~= '' and gen ~= ARGV[1]) then return 0 end
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[2]) end
end
return 1
"""


def key_field(key_id: str) -> str:
    return f"key:{key_id}"


@dataclass(frozen=True)
class Limit:
    field: str   # ACCOUNT or key_field(key_id)
    nanos: int   # the most the month may cost


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    gen: str = ""                # the counters' generation: settle there
    refused: Limit | None = None  # the limit the reservation did not fit
    counter: int = 0             # that limit's counter (spent + reserved), unchanged


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    year, number = map(int, month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    return start, datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


async def ledger_month_spend(engine: AsyncEngine, account_id: str, month: str, field: str) -> int:
    """The month's charged cost in the ledger (schemas.spend), of the account or of one of its keys."""
    key_id = None if field == ACCOUNT else field.removeprefix("key:")
    async with engine.connect() as conn:
        return int((await conn.execute(month_spend(account_id, *_month_bounds(month), key_id))).scalar_one())


def _new_gen() -> str:
    return uuid.uuid4().hex[:16]


async def still_limited(engine: AsyncEngine, account_id: str, fields: set[str],
                        tier_capped: Callable[[str], bool]) -> set[str]:
    """Those of `fields` whose limit is still on: keys with a budget (and not revoked), the account's
    cap when it has its own or its tier one (`tier_capped`, from gateway.yaml)."""
    key_ids = [field.removeprefix("key:") for field in fields if field != ACCOUNT]
    async with engine.connect() as conn:
        account = (await conn.execute(sa.select(accounts.c.tier, accounts.c.spend_cap_nanos).where(
            accounts.c.id == account_id))).first()
        budgeted = (await conn.execute(sa.select(api_keys.c.id).where(
            api_keys.c.account_id == account_id, api_keys.c.id.in_(key_ids), api_keys.c.revoked_at.is_(None),
            api_keys.c.monthly_budget_nanos.is_not(None)))).scalars().all() if key_ids else []
    kept = {key_field(key_id) for key_id in budgeted}
    if account is not None and (account.spend_cap_nanos is not None or tier_capped(account.tier)):
        kept.add(ACCOUNT)
    return kept & fields


class _Forgetting:
    """Dropping an account's counters whose limit is gone, when the change feed names the account."""

    def __init__(self, engine: AsyncEngine, tier_capped: Callable[[str], bool], clock):
        self.engine, self.tier_capped, self.clock = engine, tier_capped, clock
        self._tasks: set[asyncio.Task] = set()

    def forget(self, account_id: str) -> asyncio.Task:
        """Called from the change feed, which does not wait: the work runs as a task of its own."""
        task = asyncio.get_running_loop().create_task(self._forget(account_id, month_of(self.clock())))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _forget(self, account_id: str, month: str) -> None:
        try:
            fields = await self._fields(account_id, month)
            if fields:
                gone = fields - await still_limited(self.engine, account_id, fields, self.tier_capped)
                if gone:
                    await self._drop(account_id, month, gone)
        except Exception:  # noqa: BLE001 - logged; the counters stay (a limit removed keeps its old count)
            log.warning("could not drop the spend counters of account %s whose limits changed", account_id,
                        exc_info=True)

    async def _fields(self, account_id: str, month: str) -> set[str]:
        raise NotImplementedError

    async def _drop(self, account_id: str, month: str, fields: set[str]) -> None:
        raise NotImplementedError


class MemorySpend(_Forgetting):
    """The embedded backend's counters: one sidecar process holds them all (clew up runs one)."""

    def __init__(self, engine: AsyncEngine, tier_capped: Callable[[str], bool] = lambda tier: False,
                 clock=lambda: datetime.now(UTC)):
        super().__init__(engine, tier_capped, clock)
        self._months: dict[tuple[str, str], dict[str, int | str]] = {}

    async def reserve(self, account_id: str, month: str, amount: int, limits: list[Limit]) -> Verdict:
        month_key = (account_id, month)
        while True:
            counters = self._months.setdefault(month_key, {"gen": _new_gen()})
            missing = next((limit.field for limit in limits if limit.field not in counters), None)
            if missing is None:
                break
            rebuilt = await ledger_month_spend(self.engine, account_id, month, missing)
            # Another request may have rebuilt it meanwhile, or a change of limits dropped it.
            self._months.setdefault(month_key, {"gen": _new_gen()}).setdefault(missing, rebuilt)
        # No await from here on: the check and the additions are one step.
        for limit in limits:
            if counters[limit.field] + amount > limit.nanos:
                return Verdict(False, counters["gen"], limit, counters[limit.field])
        for limit in limits:
            counters[limit.field] += amount
        return Verdict(True, counters["gen"])

    async def settle(self, account_id: str, month: str, gen: str, fields: list[str], delta: int) -> None:
        counters = self._months.get((account_id, month))
        if counters is None or (gen and counters["gen"] != gen):
            return
        for field in fields:
            if field in counters:
                counters[field] += delta

    async def _fields(self, account_id: str, month: str) -> set[str]:
        return set(self._months.get((account_id, month), {})) - {"gen"}

    async def _drop(self, account_id: str, month: str, fields: set[str]) -> None:
        counters = self._months.get((account_id, month), {})
        for field in fields:
            counters.pop(field, None)


class RedisSpend(_Forgetting):
    def __init__(self, redis: Redis, prefix: str, engine: AsyncEngine,
                 tier_capped: Callable[[str], bool] = lambda tier: False, clock=lambda: datetime.now(UTC)):
        super().__init__(engine, tier_capped, clock)
        self.redis, self.prefix = redis, prefix
        self._reserve = redis.register_script(_RESERVE)
        self._seed = redis.register_script(_SEED)
        self._settle = redis.register_script(_SETTLE)

    def _key(self, account_id: str, month: str) -> str:
        return f"{self.prefix}spend:{{{account_id}}}:{month}"  # hash-tagged by account, like the quota's

    async def reserve(self, account_id: str, month: str, amount: int, limits: list[Limit]) -> Verdict:
        key = self._key(account_id, month)
        args = [amount] + [value for limit in limits for value in (limit.field, limit.nanos)]
        for _ in range(len(limits) + 2):  # at most the hash and each field rebuilt, and a drop between
            reply = await self._reserve(keys=[key], args=args)
            status = int(reply[0])
            if status == 1:
                return Verdict(True, _text(reply[1]))
            if status == 0:
                return Verdict(False, _text(reply[3]), limits[int(reply[1]) - 1], int(reply[2]))
            field = limits[max(int(reply[1]), 1) - 1].field
            rebuilt = await ledger_month_spend(self.engine, account_id, month, field)
            await self._seed(keys=[key], args=[_new_gen(), field, rebuilt, COUNTER_TTL_SECONDS])
        raise RuntimeError(f"spend counters {key} vanished while being rebuilt")

    async def settle(self, account_id: str, month: str, gen: str, fields: list[str], delta: int) -> None:
        if delta and fields:
            await self._settle(keys=[self._key(account_id, month)], args=[gen, delta, *fields])

    async def _fields(self, account_id: str, month: str) -> set[str]:
        return {_text(field) for field in await self.redis.hkeys(self._key(account_id, month))} - {"gen"}

    async def _drop(self, account_id: str, month: str, fields: set[str]) -> None:
        await self.redis.hdel(self._key(account_id, month), *sorted(fields))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
