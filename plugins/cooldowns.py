"""Providers cooling down after a 429: skipped by routers until their Retry-After has passed.

Shared by every sidecar process and replica through Redis (one key per provider, expiring when
the cool-down ends), or in process memory in the embedded single-process default.
"""
import time

from redis.asyncio import Redis

DEFAULT_SECONDS = 30  # a 429 without Retry-After


class MemoryCooldowns:
    def __init__(self):
        self._until: dict[str, float] = {}

    async def cool(self, provider: str, seconds: float) -> None:
        self._until[provider] = max(self._until.get(provider, 0), time.monotonic() + seconds)

    async def remaining(self, providers: list[str]) -> dict[str, float]:
        now = time.monotonic()
        return {p: self._until.get(p, 0) - now for p in providers if self._until.get(p, 0) > now}


class RedisCooldowns:
    def __init__(self, redis: Redis, prefix: str):
        self.redis, self.prefix = redis, prefix

    def _key(self, provider: str) -> str:
        return f"{self.prefix}cooldown:{provider}"

    async def cool(self, provider: str, seconds: float) -> None:
        await self.redis.set(self._key(provider), "1", px=max(1, int(seconds * 1000)))

    async def remaining(self, providers: list[str]) -> dict[str, float]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for provider in providers:
                pipe.pttl(self._key(provider))
            ttls = await pipe.execute()
        return {p: ms / 1000 for p, ms in zip(providers, ttls, strict=True) if ms > 0}


def retry_after_seconds(headers: dict) -> float:
    raw = headers.get("retry-after", "")
    try:
        return max(1.0, float(raw))
    except ValueError:
        return DEFAULT_SECONDS
