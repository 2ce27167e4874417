"""Per-IP limits for the anonymous routes (telemetry, login, signup, password reset), without ever
keeping an IP address. Also counts other subjects the same way (reset mails per email).

The client's address is the last X-Forwarded-For entry: Envoy (use_remote_address) appends the
peer it really saw, so a client can only add entries before it. IPv6 clients are counted per /64
(one host usually holds the whole prefix). Counters and stored rows key on a salted HMAC of that
address (the salt derives from the internal secret), never on the address itself.

Windows are fixed (a minute unless the caller says otherwise, aligned to the clock): in Redis
(INCR + EXPIRE in one Lua script, shared by every replica) when configured, in process memory otherwise.
A subject is counted before the caller does the work it limits, so concurrent requests cannot
slip past the limit.
"""
import hashlib
import hmac
import ipaddress
import math
import time
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

WINDOW_SECONDS = 60
MEMORY_MAX_SUBJECTS = 100_000
_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def client_address(request: web.Request) -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    candidate = forwarded.rsplit(",", 1)[-1].strip() if forwarded else ""
    try:
        address = ipaddress.ip_address(candidate or (request.remote or ""))
    except ValueError:
        return "unknown"
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def address_hash(secret: bytes, address: str) -> str:
    return hmac.new(secret, b"telemetry-ip\n" + address.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int

    def headers(self) -> dict:
        found = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        return found if self.allowed else {**found, "Retry-After": str(self.retry_after)}


def _verdict(count: int, limit: int, now: float, window: int) -> Verdict:
    retry_after = max(1, math.ceil(window - now % window))
    return Verdict(count <= limit, limit, max(limit - count, 0), retry_after)


class MemoryLimiter:
    def __init__(self):
        self._counts: dict[tuple[str, int], tuple[int, int]] = {}

    async def hit(self, subject: str, limit: int, window: int = WINDOW_SECONDS) -> Verdict:
        now = time.time()
        index = int(now // window)
        if len(self._counts) > MEMORY_MAX_SUBJECTS:  # forget finished windows
            self._counts = {k: v for k, v in self._counts.items() if v[0] == int(now // k[1])}
        seen_index, count = self._counts.get((subject, window), (index, 0))
        count = (count if seen_index == index else 0) + 1
        self._counts[(subject, window)] = (index, count)
        return _verdict(count, limit, now, window)


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str):
        self._prefix = prefix
        self._increment = redis.register_script(_INCREMENT)

    async def hit(self, subject: str, limit: int, window: int = WINDOW_SECONDS) -> Verdict:
        now = time.time()
        key = f"{self._prefix}limit:{subject}:{window}:{int(now // window)}"
        count = int(await self._increment(keys=[key], args=[window + 1]))
        return _verdict(count, limit, now, window)


LIMITER = web.AppKey("ip_limiter", object)


def create_limiter(redis: Redis | None, prefix: str):
    return MemoryLimiter() if redis is None else RedisLimiter(redis, prefix)
