"""Sliding-window request counters: at most `limit` requests in any `window` seconds.

In Redis (one Lua script, one round trip, atomic, so exact under any concurrency and across every
sidecar process and replica) or in process memory for the embedded single-process default.
Keys carry the account in a hash tag, so Redis Cluster keeps each account's keys on one slot.
"""
import time
from collections import deque
from dataclasses import dataclass

from redis.asyncio import Redis

# Redis's own clock, so that sidecars on different hosts agree on the window.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local first = oldest[2] and tonumber(oldest[2]) or now
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, first + window - now}
end
return {0, 0, first + window - now}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    reset_seconds: float  # until the oldest counted request leaves the window


class MemoryWindows:
    def __init__(self):
        self._hits: dict[str, deque] = {}

    async def hit(self, subject: str, limit: int, window: float, member: str) -> Verdict:
        now = time.monotonic()
        hits = self._hits.setdefault(subject, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        first = hits[0] if hits else now
        if len(hits) < limit:
            hits.append(now)
            return Verdict(True, limit - len(hits), first + window - now)
        return Verdict(False, 0, first + window - now)


class RedisWindows:
    def __init__(self, redis: Redis, prefix: str):
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, subject: str, limit: int, window: float, member: str) -> Verdict:
        allowed, remaining, reset_ms = await self._script(
            keys=[f"{self._prefix}rl:{{{subject}}}:rpm"], args=[int(window * 1000), limit, member])
        return Verdict(bool(allowed), int(remaining), int(reset_ms) / 1000)
