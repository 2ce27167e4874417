"""The sidecar's usage sinks: a Redis Stream entry per event, or the ledger row directly."""
import time
import uuid

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from plugins.usage_sink import DatabaseSink, RedisStreamSink, create_sink
from schemas.database import create_engine
from schemas.events import UsageEvent
from schemas.tables import usage_events


def _event(**changes) -> UsageEvent:
    fields = dict(request_id=uuid.uuid4().hex, account_id="acct_1", key_id="key_1", key_source="pool",
                  model="deepseek-chat", provider="deepseek", prompt_tokens=12, completion_tokens=30,
                  cost_nanos=4_200, status=200, latency_ms=85, streamed=False, created_at=time.time())
    return UsageEvent(**{**fields, **changes})


@pytest.fixture
async def redis_client(redis_prefix):
    url, prefix = redis_prefix
    client = Redis.from_url(url)
    yield client, prefix
    await client.aclose()


async def test_database_sink_inserts_once_and_ignores_a_duplicate(migrated_engine):
    event = _event()
    sink = DatabaseSink(migrated_engine)
    await sink.publish(event)
    await sink.publish(event)
    async with migrated_engine.connect() as conn:
        rows = (await conn.execute(sa.select(usage_events))).all()
    assert len(rows) == 1
    assert rows[0].request_id == event.request_id and rows[0].total_tokens == 42 and rows[0].cost_nanos == 4_200


async def test_redis_sink_appends_each_event_as_json(redis_client):
    client, prefix = redis_client
    events = [_event() for _ in range(3)]
    sink = RedisStreamSink(client, prefix)
    for event in events:
        await sink.publish(event)
    entries = await client.xrange(f"{prefix}usage-events")
    assert [UsageEvent.from_json(fields[b"e"]) for _, fields in entries] == events


async def test_create_sink_uses_the_stream_when_redis_is_configured(redis_client, tmp_path):
    client, prefix = redis_client
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    assert isinstance(create_sink(client, prefix, engine), RedisStreamSink)
    assert isinstance(create_sink(None, prefix, engine), DatabaseSink)
    await engine.dispose()
