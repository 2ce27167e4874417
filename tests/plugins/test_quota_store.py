"""Quota counters admit a reservation only if it fits what is left of the month, in memory and in Redis."""
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from plugins.quota_store import MemoryQuota, RedisQuota
from tests.support.ledger import insert_usage


@pytest.fixture(params=["memory", "redis"])
async def store(request, migrated_engine):
    if request.param == "memory":
        yield MemoryQuota(migrated_engine)
        return
    url, prefix = request.getfixturevalue("redis_prefix")
    redis = Redis.from_url(url)
    yield RedisQuota(redis, prefix, migrated_engine)
    await redis.aclose()


async def test_a_reservation_that_fits_exactly_is_admitted_and_counted(store):
    assert await store.reserve("acct_1", "2026-05", 1_000, 1_000) == (True, 1_000)


async def test_a_reservation_past_the_quota_is_refused_while_usage_is_below_it(store):
    assert await store.reserve("acct_1", "2026-05", 600, 1_000) == (True, 600)
    assert await store.reserve("acct_1", "2026-05", 401, 1_000) == (False, 600)  # the counter is unchanged
    assert await store.reserve("acct_1", "2026-05", 400, 1_000) == (True, 1_000)


async def test_a_lost_counter_starts_from_the_months_ledger(store, migrated_engine):
    await insert_usage(migrated_engine, "acct_2", 900, created_at=datetime(2026, 5, 3, tzinfo=UTC))
    assert await store.reserve("acct_2", "2026-05", 101, 1_000) == (False, 900)
    await store.settle("acct_2", "2026-05", -100)
    assert await store.reserve("acct_2", "2026-05", 200, 1_000) == (True, 1_000)


async def test_an_adjustment_moves_a_counter_that_exists(store):
    assert await store.reserve("acct_3", "2026-05", 700, 1_000) == (True, 700)
    await store.adjust("acct_3", "2026-05", -300)  # a corrected ledger row (plugins.delivery_reconciler)
    assert await store.reserve("acct_3", "2026-05", 600, 1_000) == (True, 1_000)


async def test_an_adjustment_creates_no_counter(store, migrated_engine):
    """A missing counter is rebuilt from the ledger, which already holds the correction: a counter made
    of the change alone would start the month below zero."""
    await store.adjust("acct_4", "2026-05", -500)
    await insert_usage(migrated_engine, "acct_4", 800, created_at=datetime(2026, 5, 3, tzinfo=UTC))
    assert await store.reserve("acct_4", "2026-05", 201, 1_000) == (False, 800)
