"""Where the sidecar puts each UsageEvent; a request counts as metered once `publish` returns.

With Redis: an entry on a Redis Stream, which the control plane's LedgerConsumer moves into the
ledger. Embedded (no Redis): the ledger row itself. Either way the ledger keeps one row per
request_id, however often an event is published.
"""
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.events import UsageEvent
from schemas.internal_api import USAGE_STREAM
from schemas.key_use import mark_keys_used
from schemas.tables import usage_events

STREAM = USAGE_STREAM  # appended to the Redis prefix; the control plane's ledger consumes it
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class UsageSink(Protocol):
    async def publish(self, event: UsageEvent) -> None: ...


class RedisStreamSink:
    def __init__(self, redis: Redis, prefix: str):
        self.redis = redis
        self.key = f"{prefix}{STREAM}"

    async def publish(self, event: UsageEvent) -> None:
        # No MAXLEN: trimming could drop entries the ledger has not landed yet; the consumer deletes
        # each entry once it is in the ledger, so the stream only holds the backlog.
        await self.redis.xadd(self.key, {"e": event.to_json()})


class DatabaseSink:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def publish(self, event: UsageEvent) -> None:
        statement = _INSERTS[self.engine.dialect.name](usage_events).values(event.ledger_row())
        async with self.engine.begin() as conn:
            await conn.execute(statement.on_conflict_do_nothing(index_elements=["request_id"]))
            # Embedded, the ledger row is written per request anyway: the key's last use rides in its transaction.
            await mark_keys_used(conn, (event,))


def create_sink(redis: Redis | None, prefix: str, engine: AsyncEngine) -> UsageSink:
    return DatabaseSink(engine) if redis is None else RedisStreamSink(redis, prefix)
