"""The login throttle, in memory and in Redis: the same behaviour from both."""
import pytest
from redis.asyncio import Redis

from control_plane.accounts.throttle import MemoryLoginThrottle, RedisLoginThrottle


@pytest.fixture(params=["memory", "redis"])
async def throttle(request, redis_prefix):
    if request.param == "memory":
        yield MemoryLoginThrottle(max_failures=3, window_seconds=60)
        return
    url, prefix = redis_prefix
    client = Redis.from_url(url)
    yield RedisLoginThrottle(client, prefix, max_failures=3, window_seconds=60)
    await client.aclose()


async def test_allows_until_the_failure_limit(throttle):
    for _ in range(2):
        await throttle.record_failure("a@example.com")
    assert (await throttle.check("a@example.com")).allowed


async def test_refuses_at_the_limit_with_retry_after_within_the_window(throttle):
    for _ in range(3):
        await throttle.record_failure("a@example.com")
    verdict = await throttle.check("a@example.com")
    assert not verdict.allowed and 1 <= verdict.retry_after <= 60


async def test_success_resets_the_count(throttle):
    for _ in range(3):
        await throttle.record_failure("a@example.com")
    await throttle.reset("a@example.com")
    assert (await throttle.check("a@example.com")).allowed


async def test_counts_each_email_separately(throttle):
    for _ in range(3):
        await throttle.record_failure("a@example.com")
    assert (await throttle.check("b@example.com")).allowed
