"""Stopping Envoy without cutting what it is serving: stop accepting, let in-flight requests finish.

Through Envoy's admin API (loopback only): `/drain_listeners` closes the listeners at once (the
client-facing ones, and the ops port, so readiness probes fail and a load balancer sends new
connections to another replica), and the requests in flight run on until they finish or
DRAIN_SECONDS pass. Only then does Envoy get SIGTERM, which
would otherwise cut every stream at once.
"""
import asyncio
import os
import re

import aiohttp

DRAIN_SECONDS = float(os.environ.get("CLEW_DRAIN_SECONDS", "20"))  # within Kubernetes' 30 s grace period
# Requests in flight on the client listeners (stat prefixes "http" and "https"), not on the admin port.
ACTIVE = re.compile(r"^http\.https?\.downstream_rq_active$")


async def _active_requests(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/stats", params={"format": "json", "filter": "downstream_rq_active"}) as reply:
        stats = (await reply.json())["stats"]
    return sum(int(s.get("value", 0)) for s in stats if ACTIVE.match(s.get("name", "")))


async def drain(admin_port: int, seconds: float = DRAIN_SECONDS) -> int:
    """Close the listeners and wait for the requests in flight; how many were still running at the end."""
    base = f"http://127.0.0.1:{admin_port}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        try:
            async with session.post(f"{base}/drain_listeners"):
                pass
            while (active := await _active_requests(session, base)) and loop.time() < deadline:
                await asyncio.sleep(0.1)
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
            return 0  # Envoy is not answering: nothing to drain through it
    return active
