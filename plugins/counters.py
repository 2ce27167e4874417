"""Sliding-window request counters: at most `limit` requests in any `window` seconds, in one window or
in several at once (the account's and its key's): a request is counted only where all have room.

In Redis (one Lua script, one round trip, atomic, so exact under any concurrency and across every
sidecar process and replica) or in process memory for the embedded single-process default.
Keys carry the account in a hash tag, so Redis Cluster keeps each account's keys on one slot.
"""
import time
from collections import deque
from dataclasses import dataclass

from redis.asyncio import Redis

# Redis's own clock, so that sidecars on different hosts agree on the windows. Every window must have
# room for the request to be counted; then it is counted in all of them, or in none.
_SLIDING_WINDOWS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local counts, firsts, room = {}, {}, true
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  counts[i] = redis.call('ZCARD', key)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  firsts[i] = oldest[2] and tonumber(oldest[2]) or now
  if counts[i] >= tonumber(ARGV[2 + i]) then room = false end
end
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + i])
  local remaining = limit - counts[i]
  if room then
    redis.call('ZADD', key, now, ARGV[2])
    redis.call('PEXPIRE', key, window)
    remaining = remaining - 1
  end
  out[#out + 1] = counts[i] < limit and 1 or 0
  out[#out + 1] = math.max(remaining, 0)
  out[#out + 1] = firsts[i] + window - now
end
return out
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool       # this window had room (the request was counted only if every window had)
    remaining: int
    reset_seconds: float  # until the oldest counted request leaves the window


class MemoryWindows:
    def __init__(self):
        self._hits: dict[str, deque] = {}

    async def hit(self, subject: str, limit: int, window: float, member: str) -> Verdict:
        return (await self.hit_all(subject, (("", limit),), window, member))[0]

    async def hit_all(self, account: str, limits, window: float, member: str) -> list[Verdict]:
        """`limits`: (name, limit) of each window of the account's to count the request in."""
        now = time.monotonic()
        windows = [self._window(account + name, now, window) for name, _ in limits]
        room = all(len(hits) < limit for hits, (_, limit) in zip(windows, limits, strict=True))
        verdicts = []
        for hits, (_, limit) in zip(windows, limits, strict=True):
            had_room, first = len(hits) < limit, hits[0] if hits else now
            if room:
                hits.append(now)
            verdicts.append(Verdict(had_room, max(limit - len(hits), 0), first + window - now))
        return verdicts

    def _window(self, subject: str, now: float, window: float) -> deque:
        hits = self._hits.setdefault(subject, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        return hits


class RedisWindows:
    def __init__(self, redis: Redis, prefix: str):
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOWS)

    async def hit(self, subject: str, limit: int, window: float, member: str) -> Verdict:
        return (await self.hit_all(subject, (("", limit),), window, member))[0]

    async def hit_all(self, account: str, limits, window: float, member: str) -> list[Verdict]:
        """`limits`: (name, limit) of each window of the account's to count the request in. The account
        is the keys' hash tag: one script may touch them all, on Redis Cluster too."""
        found = await self._script(keys=[f"{self._prefix}rl:{{{account}}}{name}:rpm" for name, _ in limits],
                                   args=[int(window * 1000), member, *(limit for _, limit in limits)])
        return [Verdict(bool(found[i]), int(found[i + 1]), int(found[i + 2]) / 1000) for i in range(0, len(found), 3)]
