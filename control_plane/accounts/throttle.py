"""Counting failed logins per email, to slow down password guessing.

In Redis when configured (shared by every control-plane replica), in memory otherwise.
"""
import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

# INCR and set the window's expiry atomically on the first failure; returns count and ttl.
_RECORD_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""


@dataclass
class Verdict:
    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: int):
        self.max_failures, self.window = max_failures, window_seconds

    @staticmethod
    def subject(email: str) -> str:
        return hashlib.sha256(email.encode()).hexdigest()[:32]

    async def check(self, email: str) -> Verdict:
        count, ttl = await self._read(self.subject(email))
        return Verdict(False, max(ttl, 1)) if count >= self.max_failures else Verdict(True)

    async def record_failure(self, email: str) -> None:
        await self._incr(self.subject(email))

    async def reset(self, email: str) -> None:
        await self._clear(self.subject(email))


class MemoryLoginThrottle(LoginThrottle):
    def __init__(self, max_failures: int, window_seconds: int):
        super().__init__(max_failures, window_seconds)
        self._windows: dict[str, tuple[int, float]] = {}

    async def _read(self, subject: str) -> tuple[int, int]:
        count, until = self._windows.get(subject, (0, 0.0))
        remaining = until - time.monotonic()
        return (count, int(remaining) + 1) if remaining > 0 else (0, 0)

    async def _incr(self, subject: str) -> None:
        count, ttl = await self._read(subject)
        until = time.monotonic() + (ttl if count else self.window)
        self._windows[subject] = (count + 1, until)

    async def _clear(self, subject: str) -> None:
        self._windows.pop(subject, None)


class RedisLoginThrottle(LoginThrottle):
    def __init__(self, redis: Redis, prefix: str, max_failures: int, window_seconds: int):
        super().__init__(max_failures, window_seconds)
        self._redis, self._prefix = redis, prefix
        self._record = redis.register_script(_RECORD_FAILURE)

    def _key(self, subject: str) -> str:
        return f"{self._prefix}login:{subject}"

    async def _read(self, subject: str) -> tuple[int, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            count, ttl = await pipe.get(self._key(subject)).ttl(self._key(subject)).execute()
        return int(count or 0), max(int(ttl), 0)

    async def _incr(self, subject: str) -> None:
        await self._record(keys=[self._key(subject)], args=[self.window])

    async def _clear(self, subject: str) -> None:
        await self._redis.delete(self._key(subject))
