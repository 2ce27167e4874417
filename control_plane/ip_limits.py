"""Per-IP limits for the anonymous telemetry endpoints, without ever keeping an IP address.

The client's address is the last X-Forwarded-For entry: Envoy (use_remote_address) appends the
peer it really saw, so a client can only add entries before it. IPv6 clients are counted per /64
(one host usually holds the whole prefix). Counters and stored rows key on a salted HMAC of that
address (the salt derives from the internal secret), never on the address itself.

Windows are fixed minutes: in Redis (INCR + EXPIRE in one Lua script, shared by every replica)
when configured, in process memory otherwise.
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


def _verdict(count: int, limit: int, now: float) -> Verdict:
    retry_after = max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))
    return Verdict(count <= limit, limit, max(limit - count, 0), retry_after)


class MemoryLimiter:
    def __init__(self):
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, subject: str, limit: int) -> Verdict:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if len(self._counts) > MEMORY_MAX_SUBJECTS:  # forget finished windows
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        seen_window, count = self._counts.get(subject, (window, 0))
        count = (count if seen_window == window else 0) + 1
        self._counts[subject] = (window, count)
        return _verdict(count, limit, now)


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str):
        self._prefix = prefix
        self._increment = redis.register_script(_INCREMENT)

    async def hit(self, subject: str, limit: int) -> Verdict:
        now = time.time()
        key = f"{self._prefix}telemetry:ip:{subject}:{int(now // WINDOW_SECONDS)}"
        count = int(await self._increment(keys=[key], args=[WINDOW_SECONDS + 1]))
        return _verdict(count, limit, now)


LIMITER = web.AppKey("telemetry_limiter", object)


def create_limiter(redis: Redis | None, prefix: str):
    return MemoryLimiter() if redis is None else RedisLimiter(redis, prefix)
