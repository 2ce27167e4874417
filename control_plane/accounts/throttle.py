"""Slowing down password guessing: login attempts counted per email and client address, before the
password is checked.

Two counts per email, each over a window that starts with its first attempt:
- per (email, address): the low limit (`max_failures`). A guesser's address is refused after a few
  tries, while the owner, from any other address, still gets in.
- per email, from every address together: a higher ceiling (`max_failures_per_email`), against a
  guesser who spreads over many addresses.

An attempt is admitted and counted in one atomic step (a Lua script in Redis, shared by every
replica; a step without awaits in memory), so concurrent attempts cannot all pass while the slow
password hash runs. A refused attempt counts nowhere: hammering from one address cannot raise the
email's count and lock its owner out. A correct password clears its address's count and gives its
attempt back to the email's.
"""
import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: the (email, address) count, the email's count. ARGV: the two limits, the window in seconds.
# Returns {1, 0} when admitted (both counted), {0, ttl} when refused (nothing counted).
_ADMIT = """
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= limits[i] then
    return {0, redis.call('TTL', KEYS[i])}
  end
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
return {1, 0}
"""
# KEYS: the (email, address) count, the email's count.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('DECR', KEYS[2]) <= 0 then redis.call('DEL', KEYS[2]) end
return 0
"""
MEMORY_MAX_SUBJECTS = 100_000


@dataclass
class Verdict:
    allowed: bool
    retry_after: int = 0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Limits:
    max_failures: int
    max_failures_per_email: int
    window_seconds: int

    @classmethod
    def of(cls, login_throttle: dict) -> "Limits":
        """From gateway.yaml's auth.login_throttle (read per attempt: a reload applies at once)."""
        return cls(login_throttle["max_failures"], login_throttle["max_failures_per_email"],
                   login_throttle["window_seconds"])


class LoginThrottle:
    async def attempt(self, email: str, address: str, limits: Limits) -> Verdict:
        """Admit and count one login attempt, or refuse it (counting nothing) with the seconds to wait.

        `address` is the client address's salted hash (control_plane.ip_limits), never an IP."""
        return await self._admit(_digest(email), address, limits)

    async def succeeded(self, email: str, address: str) -> None:
        await self._succeeded(_digest(email), address)


class MemoryLoginThrottle(LoginThrottle):
    def __init__(self):
        self._windows: dict[str, tuple[int, float]] = {}  # subject -> (count, monotonic end of window)

    def _current(self, subject: str, now: float, window: int) -> tuple[int, float]:
        count, until = self._windows.get(subject, (0, 0.0))
        return (count, until) if until > now else (0, now + window)

    async def _admit(self, email: str, address: str, limits: Limits) -> Verdict:
        # No await from the check to the increment: asyncio runs nothing else in between.
        pair, now = f"{email}:{address}", time.monotonic()
        if len(self._windows) > MEMORY_MAX_SUBJECTS:  # forget finished windows
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        current = [self._current(subject, now, limits.window_seconds) for subject in (pair, email)]
        for (count, until), limit in zip(current, (limits.max_failures, limits.max_failures_per_email), strict=True):
            if count >= limit:
                return Verdict(False, int(until - now) + 1)
        for subject, (count, until) in zip((pair, email), current, strict=True):
            self._windows[subject] = (count + 1, until)
        return Verdict(True)

    async def _succeeded(self, email: str, address: str) -> None:
        self._windows.pop(f"{email}:{address}", None)
        count, until = self._windows.get(email, (0, 0.0))
        if count > 1:
            self._windows[email] = (count - 1, until)
        else:
            self._windows.pop(email, None)


class RedisLoginThrottle(LoginThrottle):
    def __init__(self, redis: Redis, prefix: str):
        self._prefix = prefix
        self._admit_script = redis.register_script(_ADMIT)
        self._succeeded_script = redis.register_script(_SUCCEEDED)

    def _keys(self, email: str, address: str) -> list[str]:
        # One hash tag per email: both keys of a script live in the same Redis Cluster slot.
        return [f"{self._prefix}login:{{{email}}}:{address}", f"{self._prefix}login:{{{email}}}"]

    async def _admit(self, email: str, address: str, limits: Limits) -> Verdict:
        args = [limits.max_failures, limits.max_failures_per_email, limits.window_seconds]
        admitted, ttl = await self._admit_script(keys=self._keys(email, address), args=args)
        return Verdict(True) if int(admitted) else Verdict(False, max(int(ttl), 1))

    async def _succeeded(self, email: str, address: str) -> None:
        await self._succeeded_script(keys=self._keys(email, address))
