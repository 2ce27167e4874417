"""Overload through two sidecars: a burst of 256 connections loses no usage and gets no 5xx of ours.

Every client's 200 has exactly one ledger row with the simulator's tokens; nothing is refused
because a pool of ours (Redis connections, gRPC streams) ran out.
"""
import asyncio

import aiohttp
import pytest
import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import account_on_tier, chat

CONNECTIONS = 256


async def _ledger(db, account_id: str, expected: int, timeout: float = 60) -> list[tuple[int, int]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with db.connect() as conn:
            rows = (await conn.execute(sa.select(usage_events.c.status, usage_events.c.completion_tokens)
                                       .where(usage_events.c.account_id == account_id))).all()
        if len(rows) >= expected or loop.time() > deadline:
            return sorted(rows)
        await asyncio.sleep(0.25)


@pytest.mark.redis_only
async def test_a_burst_of_256_connections_is_served_and_metered_request_by_request(gateway, db):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        account = await account_on_tier(session, gateway, db, "enterprise")  # 1,000 requests a minute

        async def one(i: int) -> tuple[int, int]:
            status, body, _ = await chat(session, gateway.url, {**account.bearer, "x-sim-completion-tokens": str(i)},
                                         model="deepseek-v4")
            return status, (body.get("usage") or {}).get("completion_tokens", -1)
        answers = await asyncio.gather(*(one(i) for i in range(1, CONNECTIONS + 1)))
    assert [a for a in answers if a[0] >= 500] == []
    served = sorted(tokens for status, tokens in answers if status == 200)
    assert len(served) == CONNECTIONS, sorted({status for status, _ in answers})
    rows = await _ledger(db, account.id, CONNECTIONS)
    assert [tokens for _, tokens in rows] == served  # one row per request, each with the simulator's count
    assert {status for status, _ in rows} == {200}
