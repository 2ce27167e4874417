"""A Redis outage loses no usage: whatever a client got a 200 for lands in the ledger exactly once.

The gateway runs on a PostgreSQL schema and a Redis server of this module's own; the Redis server is
killed or frozen while streams are in flight, so their usage events cannot be queued when they end.
Both faults share the gateway: the freeze comes to one that already came back from a kill.
"""
import asyncio
import uuid

import aiohttp
import pytest
import sqlalchemy as sa

from plugins.identity_store import POLL_SECONDS
from schemas.database import create_engine
from schemas.tables import usage_events
from tests.conftest import POSTGRES_URL, _drop_schema, _require_services
from tests.support.accounts import set_tier
from tests.support.api import new_account
from tests.support.stack import Backend, start_gateway
from tests.support.throwaway_redis import ThrowawayRedis

STREAMS, TOKENS = 6, 20


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    _require_services()
    redis, schema = ThrowawayRedis().start(), f"clew_test_{uuid.uuid4().hex[:12]}"
    stack = start_gateway(Backend("redis-outage", POSTGRES_URL, schema, redis.url, "clewtest:"),
                          tmp_path_factory.mktemp("redis-outage"))
    yield stack, redis
    stack.stop()
    redis.destroy()
    asyncio.run(_drop_schema(schema))


@pytest.fixture
async def outage_db(outage):
    stack, _ = outage
    engine = create_engine(POSTGRES_URL, stack.backend.schema)
    yield engine
    await engine.dispose()


async def _stream(session, stack, headers: dict, started: asyncio.Event) -> tuple[int, bytes]:
    async with session.post(f"{stack.url}/v1/chat/completions", headers=headers, json={
            "model": "deepseek-v4", "stream": True, "messages": [{"role": "user", "content": "Hello!"}]}) as response:
        first = await response.content.readany()
        started.set()
        return response.status, first + await response.read()


async def _streams_across(session, stack, account, fault) -> list[tuple[int, bytes]]:
    headers = {**account.bearer, "x-sim-chunks": "20", "x-sim-chunk-interval-ms": "100",
               "x-sim-completion-tokens": str(TOKENS)}
    started = [asyncio.Event() for _ in range(STREAMS)]
    streams = [asyncio.ensure_future(_stream(session, stack, headers, event)) for event in started]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 30)
    fault()
    return await asyncio.gather(*streams)


async def _ledger(engine, account_id: str, expected: int, timeout: float = 30) -> list:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(usage_events.c.request_id, usage_events.c.status,
                                                 usage_events.c.completion_tokens)
                                       .where(usage_events.c.account_id == account_id))).all()
        if len(rows) >= expected or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.25)


@pytest.mark.parametrize("fault, recover", [("kill", "start"), ("freeze", "thaw")])
async def test_streams_ending_while_redis_is_away_are_all_in_the_ledger_once_it_is_back(outage, outage_db, fault,
                                                                                       recover):
    (stack, redis), engine = outage, outage_db
    async with aiohttp.ClientSession() as session:
        account = await new_account(session, stack.url)
        await set_tier(engine, account.id, "enterprise")
        await asyncio.sleep(4 * POLL_SECONDS)  # the sidecars drop the cached free tier
        answers = await _streams_across(session, stack, account, getattr(redis, fault))
    completed = [body for status, body in answers if status == 200 and body.rstrip().endswith(b"data: [DONE]")]
    assert len(completed) == STREAMS
    getattr(redis, recover)()
    rows = await _ledger(engine, account.id, STREAMS)
    assert sorted((status, tokens) for _, status, tokens in rows) == [(200, TOKENS)] * STREAMS
    assert len({request_id for request_id, _, _ in rows}) == STREAMS  # one row each, none twice
