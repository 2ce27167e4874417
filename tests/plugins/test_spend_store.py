"""Spend counters admit a reservation only if it fits every limit at once, in memory and in Redis, and
start from the month's ledger whenever they are missing."""
import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from plugins.spend_store import ACCOUNT, Limit, MemorySpend, RedisSpend, key_field
from schemas.tables import accounts, api_keys
from tests.support.ledger import insert_usage

MAY = "2026-05"
NOW = datetime(2026, 5, 20, tzinfo=UTC)
KEY = key_field("key_1")


@pytest.fixture(params=["memory", "redis"])
async def store(request, migrated_engine):
    if request.param == "memory":
        yield MemorySpend(migrated_engine, clock=lambda: NOW)
        return
    url, prefix = request.getfixturevalue("redis_prefix")
    redis = Redis.from_url(url)
    yield RedisSpend(redis, prefix, migrated_engine, clock=lambda: NOW)
    await redis.aclose()


async def _forget(store, account_id: str) -> None:
    await store.forget(account_id)  # the change feed named the account


async def _lose(store, account_id: str) -> None:
    """The month's counters vanish (Redis restarted, the hash expired)."""
    if isinstance(store, RedisSpend):
        await store.redis.delete(store._key(account_id, MAY))
    else:
        store._months.pop((account_id, MAY))


async def _account_with_key(engine, account_id: str, budget: int | None, cap: int | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id=account_id, email=f"{account_id}@example.com",
                                                      password_hash="x", created_at=NOW, spend_cap_nanos=cap))
        await conn.execute(sa.insert(api_keys).values(id="key_1", account_id=account_id, name="k",
                                                      key_hash=uuid.uuid4().hex, prefix="sk-clew-", last4="abcd",
                                                      created_at=NOW, monthly_budget_nanos=budget))


async def test_a_reservation_that_fits_exactly_is_admitted_and_one_more_nano_is_not(store):
    verdict = await store.reserve("acct_1", MAY, 1_000, [Limit(KEY, 1_000)])
    assert verdict.admitted and verdict.gen
    refused = await store.reserve("acct_1", MAY, 1, [Limit(KEY, 1_000)])
    assert not refused.admitted and refused.refused == Limit(KEY, 1_000) and refused.counter == 1_000


async def test_every_limit_must_fit_and_a_refusal_adds_to_none_of_them(store):
    limits = [Limit(KEY, 10_000), Limit(ACCOUNT, 1_000)]
    assert (await store.reserve("acct_1", MAY, 600, limits)).admitted
    refused = await store.reserve("acct_1", MAY, 401, limits)
    assert refused.refused == Limit(ACCOUNT, 1_000) and refused.counter == 600
    # The key's counter did not take the refused 401 either: 600 + 9 400 is exactly its budget.
    assert (await store.reserve("acct_1", MAY, 9_400, [Limit(KEY, 10_000)])).admitted
    assert not (await store.reserve("acct_1", MAY, 1, [Limit(KEY, 10_000)])).admitted


async def test_settling_replaces_the_reservation_with_the_real_cost(store):
    verdict = await store.reserve("acct_1", MAY, 800, [Limit(KEY, 1_000), Limit(ACCOUNT, 5_000)])
    await store.settle("acct_1", MAY, verdict.gen, [KEY, ACCOUNT], 150 - 800)  # it cost 150
    assert (await store.reserve("acct_1", MAY, 850, [Limit(KEY, 1_000)])).admitted
    assert not (await store.reserve("acct_1", MAY, 1, [Limit(KEY, 1_000)])).admitted


async def test_missing_counters_start_from_the_months_ledger_for_the_key_and_for_the_account(store, migrated_engine):
    in_may = datetime(2026, 5, 3, tzinfo=UTC)
    await insert_usage(migrated_engine, "acct_2", 0, cost_nanos=700, key_id="key_1", created_at=in_may)
    await insert_usage(migrated_engine, "acct_2", 0, cost_nanos=200, key_id="key_9", created_at=in_may)
    await insert_usage(migrated_engine, "acct_2", 0, cost_nanos=5_000, key_id="key_1",
                       created_at=datetime(2026, 4, 30, 23, 59, tzinfo=UTC))  # April's
    await insert_usage(migrated_engine, "acct_2", 0, cost_nanos=5_000, key_id="key_1",
                       created_at=datetime(2026, 6, 1, tzinfo=UTC))  # June's
    await insert_usage(migrated_engine, "acct_other", 0, cost_nanos=5_000, key_id="key_1", created_at=in_may)
    refused = await store.reserve("acct_2", MAY, 301, [Limit(KEY, 1_000)])
    assert refused.refused == Limit(KEY, 1_000) and refused.counter == 700
    refused = await store.reserve("acct_2", MAY, 101, [Limit(KEY, 1_000), Limit(ACCOUNT, 1_000)])
    assert refused.refused == Limit(ACCOUNT, 1_000) and refused.counter == 900  # both keys' rows
    assert (await store.reserve("acct_2", MAY, 100, [Limit(KEY, 1_000), Limit(ACCOUNT, 1_000)])).admitted


async def test_concurrent_reservations_never_pass_the_limit(store):
    verdicts = await asyncio.gather(*(store.reserve("acct_3", MAY, 300, [Limit(KEY, 1_000), Limit(ACCOUNT, 2_000)])
                                      for _ in range(50)))
    assert sum(v.admitted for v in verdicts) == 3
    assert {v.refused for v in verdicts if not v.admitted} == {Limit(KEY, 1_000)}


async def test_lost_counters_are_rebuilt_and_older_reservations_do_not_settle_into_them(store, migrated_engine):
    before = await store.reserve("acct_4", MAY, 900, [Limit(KEY, 1_000)])
    await insert_usage(migrated_engine, "acct_4", 0, cost_nanos=400, key_id="key_1", created_at=NOW)
    await _lose(store, "acct_4")
    after = await store.reserve("acct_4", MAY, 600, [Limit(KEY, 1_000)])  # 400 from the ledger + 600
    assert after.admitted and after.gen != before.gen
    await store.settle("acct_4", MAY, before.gen, [KEY], -900)  # its reservation is not in the new counter
    assert not (await store.reserve("acct_4", MAY, 1, [Limit(KEY, 1_000)])).admitted


async def test_a_counter_whose_limit_is_removed_is_dropped_and_rebuilt_when_it_returns(store, migrated_engine):
    await _account_with_key(migrated_engine, "acct_7", budget=None, cap=5_000)  # the key's budget was removed
    assert (await store.reserve("acct_7", MAY, 900, [Limit(KEY, 1_000), Limit(ACCOUNT, 5_000)])).admitted
    await _forget(store, "acct_7")
    # Spent while the key had no budget: no counter saw it, the ledger did.
    await insert_usage(migrated_engine, "acct_7", 0, cost_nanos=950, key_id="key_1", created_at=NOW)
    refused = await store.reserve("acct_7", MAY, 100, [Limit(KEY, 1_000)])  # rebuilt: 950
    assert refused.refused == Limit(KEY, 1_000) and refused.counter == 950
    # The account kept its cap: its counter (and the 900 still in flight on it) stayed.
    refused = await store.reserve("acct_7", MAY, 4_101, [Limit(ACCOUNT, 5_000)])
    assert refused.counter == 900


async def test_a_limit_that_stays_keeps_its_counter_and_the_reservations_in_flight(store, migrated_engine):
    await _account_with_key(migrated_engine, "acct_8", budget=2_000)  # an edit changed its amount only
    assert (await store.reserve("acct_8", MAY, 900, [Limit(KEY, 1_000)])).admitted
    await insert_usage(migrated_engine, "acct_8", 0, cost_nanos=50, key_id="key_1", created_at=NOW)
    await _forget(store, "acct_8")
    refused = await store.reserve("acct_8", MAY, 1_101, [Limit(KEY, 2_000)])
    assert refused.counter == 900  # not the ledger's 50: the 900 reserved in flight still counts


async def test_a_settlement_of_any_generation_reaches_the_counters_that_exist(store):
    """A failed video gives its price back on a later request, which does not know the generation."""
    assert (await store.reserve("acct_5", MAY, 1_000, [Limit(ACCOUNT, 1_000)])).admitted
    await store.settle("acct_5", MAY, "", [ACCOUNT, KEY], -1_000)  # the key has no counter: left alone
    assert (await store.reserve("acct_5", MAY, 1_000, [Limit(ACCOUNT, 1_000)])).admitted


async def test_months_are_counted_apart(store):
    assert (await store.reserve("acct_6", MAY, 1_000, [Limit(ACCOUNT, 1_000)])).admitted
    assert (await store.reserve("acct_6", "2026-06", 1_000, [Limit(ACCOUNT, 1_000)])).admitted
