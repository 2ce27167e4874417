"""Per-IP limits: the address Envoy saw, hashed, counted per window in memory or Redis alike."""
import pytest
from aiohttp.test_utils import make_mocked_request
from redis.asyncio import Redis

from control_plane.ip_limits import MemoryLimiter, RedisLimiter, address_hash, client_address


@pytest.fixture(params=["memory", "redis"])
async def limiter(request, redis_prefix):
    if request.param == "memory":
        yield MemoryLimiter()
        return
    url, prefix = redis_prefix
    client = Redis.from_url(url)
    yield RedisLimiter(client, prefix)
    await client.aclose()


async def test_allows_up_to_the_limit_then_refuses_with_retry_after(limiter):
    verdicts = [await limiter.hit("subject", 3) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert 1 <= verdicts[-1].retry_after <= 60
    assert verdicts[-1].headers()["Retry-After"] == str(verdicts[-1].retry_after)


async def test_subjects_are_counted_apart(limiter):
    await limiter.hit("a", 1)
    assert not (await limiter.hit("a", 1)).allowed
    assert (await limiter.hit("b", 1)).allowed


def _request(forwarded: str | None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/v1/telemetry/ping", headers=headers)


@pytest.mark.parametrize("forwarded,address", [
    ("203.0.113.9", "203.0.113.9"),
    ("6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client may prepend entries; Envoy appends the real one
    ("6.6.6.6,203.0.113.9", "203.0.113.9"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # one IPv6 host usually holds its whole /64
    ("garbage", "unknown"),
])
def test_client_address_is_the_last_forwarded_entry(forwarded, address):
    assert client_address(_request(forwarded)) == address


def test_the_address_hash_hides_the_address_and_depends_on_the_secret():
    first = address_hash(b"s" * 32, "203.0.113.9")
    assert "203.0.113.9" not in first and len(first) == 32
    assert first == address_hash(b"s" * 32, "203.0.113.9") != address_hash(b"t" * 32, "203.0.113.9")


async def test_a_longer_window_is_counted_apart_and_retries_within_it(limiter):
    assert (await limiter.hit("a", 1)).allowed
    assert (await limiter.hit("a", 1, window=3600)).allowed  # the same subject, another window length
    refused = await limiter.hit("a", 1, window=3600)
    assert not refused.allowed and 1 <= refused.retry_after <= 3600
