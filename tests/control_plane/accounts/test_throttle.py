"""The login throttle, in memory and in Redis: the same behaviour from both."""
import asyncio

import pytest
from redis.asyncio import Redis

from control_plane.accounts.throttle import Limits, MemoryLoginThrottle, RedisLoginThrottle

LIMITS = Limits(max_failures=3, max_failures_per_email=5, window_seconds=60)
EMAIL = "a@example.com"


@pytest.fixture(params=["memory", "redis"])
async def throttle(request, redis_prefix):
    if request.param == "memory":
        yield MemoryLoginThrottle()
        return
    url, prefix = redis_prefix
    client = Redis.from_url(url)
    yield RedisLoginThrottle(client, prefix)
    await client.aclose()


async def _admitted(throttle, email: str, address: str, times: int) -> list[bool]:
    return [(await throttle.attempt(email, address, LIMITS)).allowed for _ in range(times)]


async def test_admits_up_to_the_limit_per_address_then_refuses_with_retry_after(throttle):
    assert await _admitted(throttle, EMAIL, "ip-a", 3) == [True] * 3
    verdict = await throttle.attempt(EMAIL, "ip-a", LIMITS)
    assert not verdict.allowed and 1 <= verdict.retry_after <= 60


async def test_concurrent_attempts_are_admitted_no_more_than_the_limit(throttle):
    verdicts = await asyncio.gather(*(throttle.attempt(EMAIL, "ip-a", LIMITS) for _ in range(40)))
    assert sum(v.allowed for v in verdicts) == 3


async def test_another_address_is_admitted_while_one_is_refused(throttle):
    await _admitted(throttle, EMAIL, "ip-a", 3)
    assert await _admitted(throttle, EMAIL, "ip-a", 20) == [False] * 20  # refused ones count nowhere
    assert (await throttle.attempt(EMAIL, "ip-b", LIMITS)).allowed


async def test_the_email_ceiling_holds_across_addresses(throttle):
    admitted = [ok for ip in ("ip-a", "ip-b", "ip-c") for ok in await _admitted(throttle, EMAIL, ip, 3)]
    assert admitted.count(True) == 5
    assert not (await throttle.attempt(EMAIL, "ip-d", LIMITS)).allowed


async def test_success_clears_the_address_and_gives_the_attempt_back_to_the_email(throttle):
    await _admitted(throttle, EMAIL, "ip-a", 2)
    await _admitted(throttle, EMAIL, "ip-b", 3)
    await throttle.succeeded(EMAIL, "ip-b")  # the last of b's attempts was the right password
    assert await _admitted(throttle, EMAIL, "ip-b", 2) == [True, False]  # the email: 2 + 3 - 1 + 1 = 5


async def test_counts_each_email_separately(throttle):
    await _admitted(throttle, EMAIL, "ip-a", 3)
    assert (await throttle.attempt("b@example.com", "ip-a", LIMITS)).allowed
