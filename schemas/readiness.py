"""Readiness: a process is ready when its database and (when configured) Redis answer, quickly.

Each check is one round trip under a short timeout; the answer names the failing dependency and
the error's type only (an error's text may carry a connection URL).
"""
import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

TIMEOUT_SECONDS = 1.0


async def _database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(probe) -> str:
    try:
        await asyncio.wait_for(probe, TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", named by its type
        return f"error: {type(error).__name__}"
    return "ok"


def dependency_checks(engine: AsyncEngine, redis=None):
    """An async callable returning {"database": "ok" | why not, "redis": ...} (redis only when set)."""
    async def checks() -> dict[str, str]:
        names = ["database"] + (["redis"] if redis is not None else [])
        probes = [_database(engine)] + ([redis.ping()] if redis is not None else [])
        results = await asyncio.gather(*(_check(p) for p in probes))
        return dict(zip(names, results, strict=True))
    return checks
