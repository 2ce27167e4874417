"""The usage ledger: events move from the Redis Stream into the database once each, losing none."""
import asyncio
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from control_plane import clock
from control_plane.usage.ledger import GROUP, LedgerConsumer, insert_events
from control_plane.usage.summary import month_to_date
from plugins.usage_sink import RedisStreamSink
from schemas.database import create_engine
from schemas.events import UsageEvent
from schemas.tables import usage_events
from tests.conftest import POSTGRES_URL
from tests.support.ports import free_port

FAST = {"block_ms": 50, "backoff": (0.05, 0.2)}  # production waits are seconds; these tests wait ms


def _event(**changes) -> UsageEvent:
    fields = dict(request_id=uuid.uuid4().hex, account_id="acct_1", key_id="key_1", key_source="pool",
                  model="deepseek-chat", provider="deepseek", prompt_tokens=12, completion_tokens=30,
                  cost_nanos=4_200, status=200, latency_ms=85, streamed=False, created_at=time.time())
    return UsageEvent(**{**fields, **changes})


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _eventually(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


@pytest.fixture
async def stream(redis_prefix):
    """The Redis client, the key prefix and a sink publishing to this test's stream."""
    url, prefix = redis_prefix
    client = Redis.from_url(url)
    yield client, prefix, RedisStreamSink(client, prefix)
    await client.aclose()


@pytest.fixture
async def start_consumer(stream, engine):
    client, prefix, _ = stream
    started = []

    def start(on_engine=None, **options) -> LedgerConsumer:
        consumer = LedgerConsumer(client, prefix, on_engine or engine, **{**FAST, **options})
        consumer.start()
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        await consumer.stop()


async def _ledger(engine) -> dict:
    async with engine.connect() as conn:
        return {row.request_id: row for row in await conn.execute(sa.select(usage_events))}


def _drained(stream):
    client, prefix, _ = stream

    async def check() -> bool:
        return await client.xlen(f"{prefix}usage-events") == 0
    return check


async def test_a_published_event_lands_in_the_ledger(stream, engine, start_consumer):
    event = _event(streamed=True)
    await stream[2].publish(event)
    start_consumer()
    await _eventually(_drained(stream))
    row = (await _ledger(engine))[event.request_id]
    assert (row.account_id, row.total_tokens, row.cost_nanos, row.streamed) == ("acct_1", 42, 4_200, True)
    assert abs(clock.as_utc(row.created_at).timestamp() - event.created_at) < 0.001
    assert _metric("clew_ledger_lag_events") == 0


async def test_the_same_event_published_twice_lands_once(stream, engine, start_consumer):
    event = _event()
    duplicates = _metric("clew_ledger_events_total", result="duplicate")
    await stream[2].publish(event)
    await stream[2].publish(event)
    start_consumer()
    await _eventually(_drained(stream))
    assert list(await _ledger(engine)) == [event.request_id]
    assert _metric("clew_ledger_events_total", result="duplicate") == duplicates + 1


async def test_insert_events_counts_only_new_rows(engine):
    first, second = _event(), _event()
    async with engine.begin() as conn:
        assert await insert_events(conn, [first]) == 1
        assert await insert_events(conn, [first, second, second]) == 1
    assert set(await _ledger(engine)) == {first.request_id, second.request_id}


async def test_entries_of_a_consumer_that_died_are_claimed_and_landed(stream, engine, start_consumer):
    client, prefix, sink = stream
    events = [_event() for _ in range(3)]
    await client.xgroup_create(f"{prefix}usage-events", GROUP, id="0", mkstream=True)
    for event in events:
        await sink.publish(event)
    # "dead" reads everything and never acknowledges: only a claim can get these entries.
    await client.xreadgroup(GROUP, "dead", {f"{prefix}usage-events": ">"}, count=10)
    start_consumer(claim_idle_ms=50, claim_every=0.05)
    await _eventually(_drained(stream))
    assert set(await _ledger(engine)) == {event.request_id for event in events}
    assert (await client.xpending(f"{prefix}usage-events", GROUP))["pending"] == 0


async def test_a_database_outage_delays_the_ledger_and_loses_nothing(stream, engine, start_consumer):
    events = [_event() for _ in range(2)]
    errors = _metric("clew_ledger_errors_total")
    start_consumer()
    async with engine.begin() as conn:  # the ledger table disappears under the running consumer
        await conn.execute(sa.text("ALTER TABLE usage_events RENAME TO usage_events_away"))
    for event in events:
        await stream[2].publish(event)

    async def failing() -> bool:
        return _metric("clew_ledger_errors_total") > errors and _metric("clew_ledger_lag_events") == 2
    await _eventually(failing)
    assert await stream[0].xlen(f"{stream[1]}usage-events") == 2

    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE usage_events_away RENAME TO usage_events"))
    await _eventually(_drained(stream))
    assert set(await _ledger(engine)) == {event.request_id for event in events}


@pytest.mark.parametrize("migrated_settings", ["postgres"], indirect=True)
async def test_entries_read_while_the_database_is_unreachable_land_after_a_restart(stream, engine, start_consumer):
    event = _event()
    errors = _metric("clew_ledger_errors_total")
    unreachable = create_engine(POSTGRES_URL.replace(":5432/", f":{free_port()}/"))
    down = start_consumer(unreachable, name="cp-1")
    await stream[2].publish(event)

    async def failing() -> bool:
        return _metric("clew_ledger_errors_total") > errors
    await _eventually(failing)
    await down.stop()
    await unreachable.dispose()
    assert await stream[0].xlen(f"{stream[1]}usage-events") == 1

    start_consumer(name="cp-1")  # the same consumer, back with a database: re-reads what it holds
    await _eventually(_drained(stream))
    assert list(await _ledger(engine)) == [event.request_id]


async def test_an_unreadable_entry_is_dead_lettered_and_the_rest_lands(stream, engine, start_consumer):
    client, prefix, sink = stream
    event = _event()
    await client.xadd(f"{prefix}usage-events", {"e": "not json"})
    await sink.publish(event)
    start_consumer()
    await _eventually(_drained(stream))
    assert list(await _ledger(engine)) == [event.request_id]
    assert [fields for _, fields in await client.xrange(f"{prefix}usage-events-dead")] == [{b"e": b"not json"}]


async def test_month_to_date_sums_only_this_accounts_events_of_this_month(engine):
    month_start = clock.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (month_start - timedelta(seconds=1)).timestamp()
    mine = [_event(prompt_tokens=10, completion_tokens=5, cost_nanos=1_500),
            _event(prompt_tokens=1, completion_tokens=2, cost_nanos=23_500, created_at=month_start.timestamp())]
    others = [_event(created_at=last_month), _event(account_id="acct_2")]
    async with engine.begin() as conn:
        await insert_events(conn, mine + others)
        usage = await month_to_date(conn, "acct_1")
    assert usage == {"period": month_start.strftime("%Y-%m"), "requests": 2, "prompt_tokens": 11,
                     "completion_tokens": 7, "total_tokens": 18, "cost_usd": "0.000025"}


async def test_cost_sums_stay_exact(engine):
    events = [_event(cost_nanos=1) for _ in range(999)] + [_event(cost_nanos=100 * 10**9)]
    async with engine.begin() as conn:
        await insert_events(conn, events)
        usage = await month_to_date(conn, "acct_1")
    assert usage["requests"] == 1000 and usage["cost_usd"] == "100.000000999"


async def test_an_event_the_database_refuses_is_dead_lettered_and_its_batch_lands(stream, engine, start_consumer):
    client, prefix, sink = stream
    good, refused = [_event(), _event()], _event(model=None)  # NOT NULL: retrying would never succeed
    for event in (good[0], refused, good[1]):
        await sink.publish(event)
    start_consumer()
    await _eventually(_drained(stream))
    assert set(await _ledger(engine)) == {event.request_id for event in good}
    dead = await client.xrange(f"{prefix}usage-events-dead")
    assert [UsageEvent.from_json(fields[b"e"]) for _, fields in dead] == [refused]
