"""Sliding rate-limit windows, in memory and in Redis: a request is counted in every window it names
(the account's and its key's) or in none, and each window reports what it has left."""
import asyncio

import pytest
from redis.asyncio import Redis

from plugins.counters import MemoryWindows, RedisWindows

ACCOUNT, KEY = ("", 10), (":key:key_1", 2)


@pytest.fixture(params=["memory", "redis"])
async def windows(request):
    if request.param == "memory":
        yield MemoryWindows()
        return
    url, prefix = request.getfixturevalue("redis_prefix")
    redis = Redis.from_url(url)
    yield RedisWindows(redis, prefix)
    await redis.aclose()


async def _hits(windows, count: int, limits=(ACCOUNT, KEY), account: str = "acct_1") -> list:
    return [[(v.allowed, v.remaining) for v in await windows.hit_all(account, limits, 60, f"r{i}")]
            for i in range(count)]


async def test_the_key_window_refuses_the_third_and_the_account_counts_only_what_was_admitted(windows):
    assert await _hits(windows, 3) == [[(True, 9), (True, 1)], [(True, 8), (True, 0)], [(True, 8), (False, 0)]]
    # The refused request took nothing from the account: a session (no key window) has 8 left, now 7.
    assert await _hits(windows, 1, (ACCOUNT,)) == [[(True, 7)]]


async def test_a_full_account_window_refuses_every_key(windows):
    await _hits(windows, 3, (("", 3),))
    verdicts = await windows.hit_all("acct_1", (("", 3), (":key:key_2", 5)), 60, "x")
    assert [(v.allowed, v.remaining) for v in verdicts] == [(False, 0), (True, 5)]  # the key's 5 untouched


async def test_concurrent_requests_never_exceed_the_key_window(windows):
    verdicts = await asyncio.gather(*(windows.hit_all("acct_2", (ACCOUNT, KEY), 60, f"c{i}") for i in range(8)))
    assert sum(all(v.allowed for v in pair) for pair in verdicts) == 2


async def test_one_window_keeps_its_single_window_form(windows):
    assert [(v.allowed, v.remaining) for v in [await windows.hit("acct_3", 1, 60, f"s{i}") for i in range(2)]] == [
        (True, 0), (False, 0)]
    assert 0 < (await windows.hit("acct_3", 1, 60, "s3")).reset_seconds <= 60
