"""Monthly spend counters in nano-dollars: an API key's (its budget) and an account's (its spend cap).

One counter per limited key and one per account with a cap, in one hash per (account, calendar month
UTC): "key:<id>" and "account". Each holds the month's settled cost plus the reservations still in
flight. A request's reservation is admitted only if it fits every limit that applies to it —
`counter + reservation <= limit` for each — checked and added to all of them at once (one Lua script
in Redis, one step of the event loop in memory), so no number of concurrent requests can pass a limit;
only what a request costs beyond its reservation could.

A counter that does not exist (first use this month, Redis restarted, the hash expired or was
forgotten) is rebuilt from the ledger: the month's sum of `cost_nanos` for the key, or the account.
When an account's limits change (the account change feed), its hash is forgotten and rebuilt on the
next request: a counter kept while a limit was off would have missed what was spent meanwhile. Every
hash carries a generation (`gen`), and a settlement applies only to the generation it reserved in, so
a reservation made before a rebuild is never taken off a counter that never held it.
"""
import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.spend import month_spend

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


class MemorySpend:
    """The embedded backend's counters: one sidecar process holds them all (clew up runs one)."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._months: dict[tuple[str, str], dict[str, int | str]] = {}

    async def reserve(self, account_id: str, month: str, amount: int, limits: list[Limit]) -> Verdict:
        month_key = (account_id, month)
        while True:
            counters = self._months.setdefault(month_key, {"gen": _new_gen()})
            missing = next((limit.field for limit in limits if limit.field not in counters), None)
            if missing is None:
                break
            rebuilt = await ledger_month_spend(self.engine, account_id, month, missing)
            # Another request may have rebuilt it meanwhile, or a change of limits forgotten the month.
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

    def forget(self, account_id: str) -> None:
        """Drop the account's counters: its limits changed."""
        for month_key in [k for k in self._months if k[0] == account_id]:
            del self._months[month_key]


class RedisSpend:
    def __init__(self, redis: Redis, prefix: str, engine: AsyncEngine, clock=lambda: datetime.now(UTC)):
        self.redis, self.prefix, self.engine, self.clock = redis, prefix, engine, clock
        self._reserve = redis.register_script(_RESERVE)
        self._seed = redis.register_script(_SEED)
        self._settle = redis.register_script(_SETTLE)
        self._forgetting: set[asyncio.Task] = set()

    def _key(self, account_id: str, month: str) -> str:
        return f"{self.prefix}spend:{{{account_id}}}:{month}"  # hash-tagged by account, like the quota's

    async def reserve(self, account_id: str, month: str, amount: int, limits: list[Limit]) -> Verdict:
        key = self._key(account_id, month)
        args = [amount] + [value for limit in limits for value in (limit.field, limit.nanos)]
        for _ in range(len(limits) + 2):  # at most the hash and each field rebuilt, and a forget between
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

    def forget(self, account_id: str) -> asyncio.Task:
        """Drop this month's counters: the account's limits changed. Called from the change feed, which
        does not wait: the deletion runs as a task of its own."""
        task = asyncio.get_running_loop().create_task(self._delete(self._key(account_id, month_of(self.clock()))))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)
        return task

    async def _delete(self, key: str) -> None:
        try:
            await self.redis.delete(key)
        except Exception:  # noqa: BLE001 - the counters then keep counting: a limit that changed reads them
            log.warning("could not drop the spend counters %s after a change of limits", key)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
