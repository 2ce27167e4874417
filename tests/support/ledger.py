"""The ledger in tests: writing an account's history straight into it, and reading what the gateway landed."""
import asyncio
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from schemas.tables import usage_events


async def insert_usage(engine, account_id: str, prompt_tokens: int, completion_tokens: int = 0,
                       cost_nanos: int = 0, model: str = "deepseek-v4", provider: str = "deepseek",
                       created_at: datetime | None = None, key_source: str = "pool", key_id: str = "") -> str:
    request_id = f"test-{uuid.uuid4().hex}"
    async with engine.begin() as conn:
        await conn.execute(sa.insert(usage_events).values(
            request_id=request_id, account_id=account_id, key_id=key_id, key_source=key_source, model=model,
            provider=provider, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens, cost_nanos=cost_nanos, status=200, latency_ms=1,
            streamed=False, created_at=created_at or datetime.now(UTC)))
    return request_id


async def ledger_rows(db, account_id: str, expect: int, timeout: float = 5.0) -> list:
    """The account's ledger rows, oldest first, once there are `expect` of them, or whatever there is
    after `timeout` (the Redis backend lands them asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = sa.select(usage_events).where(usage_events.c.account_id == account_id).order_by(usage_events.c.created_at)
    while True:
        async with db.connect() as conn:
            rows = (await conn.execute(query)).all()
        if len(rows) >= expect or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.1)
