"""Monthly token quotas: reserved before the call, settled after it, exact enough under concurrency."""
import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import account_on_tier, chat
from tests.support.api import new_account
from tests.support.ledger import insert_usage

FREE_QUOTA, PRO_QUOTA = 100_000, 5_000_000


def _tokens(prompt: int, completion: int) -> dict:
    return {"x-sim-prompt-tokens": str(prompt), "x-sim-completion-tokens": str(completion)}


async def _month_total(db, account_id: str, expect_rows: int) -> int:
    """The ledger's total for the account once `expect_rows` rows have landed."""
    for _ in range(50):
        async with db.connect() as conn:
            count, total = (await conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(usage_events.c.total_tokens), 0))
                .where(usage_events.c.account_id == account_id))).one()
        if count >= expect_rows:
            return int(total)
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {count} of {expect_rows} ledger rows landed")


async def test_exhausted_quota_is_429_insufficient_quota(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 1_000)  # before the sidecar first counts it
    first = await chat(client, gateway.url, {**account.bearer, **_tokens(500, 1_000)}, model="deepseek-v4",
                       max_tokens=1_000)
    status, body, headers = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert first[0] == 200
    assert status == 429 and body["error"]["code"] == "insufficient_quota"
    assert body["error"]["type"] == "insufficient_quota" and "retry-after" not in headers


async def test_reservation_is_settled_to_the_actual_usage(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 5_000)
    # Reserves over 4 000 tokens but uses 15: were it not settled, the next one would be refused.
    for _ in range(3):
        status, _, _ = await chat(client, gateway.url, {**account.bearer, **_tokens(5, 10)}, model="deepseek-v4",
                                  max_tokens=4_000)
        assert status == 200


async def test_concurrent_requests_overshoot_by_at_most_one_reservation(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await insert_usage(db, account.id, PRO_QUOTA - 3_000)
    headers, max_tokens = {**account.bearer, **_tokens(10, 1_000)}, 1_000
    results = await asyncio.gather(*(chat(client, gateway.url, headers, model="deepseek-v4", max_tokens=max_tokens)
                                     for _ in range(30)))
    served = [status for status, _, _ in results if status == 200]
    refused = [body["error"]["code"] for status, body, _ in results if status == 429]
    assert len(served) + len(refused) == 30 and set(refused) == {"insufficient_quota"}
    total = await _month_total(db, account.id, expect_rows=1 + len(served))
    one_reservation = 4 + 2 + max_tokens  # one message of "Hello!" plus the completion cap
    assert PRO_QUOTA <= total <= PRO_QUOTA + one_reservation
    status, body, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert status == 429 and body["error"]["code"] == "insufficient_quota"


async def test_unlimited_tier_is_never_refused_for_tokens(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "enterprise")
    await insert_usage(db, account.id, 50 * PRO_QUOTA)
    status, _, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert status == 200


async def test_last_months_usage_does_not_count(client, gateway, db):
    account = await new_account(client, gateway.url)
    first_of_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    await insert_usage(db, account.id, 10 * FREE_QUOTA, created_at=first_of_month - timedelta(seconds=1))
    status, _, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert status == 200


async def test_tokens_sent_with_the_accounts_own_key_do_not_count_toward_the_quota(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, 10 * FREE_QUOTA, key_source="byok")  # before the sidecar first counts
    status, body, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert status == 200, body


@pytest.mark.redis_only
async def test_counter_lost_by_redis_is_rebuilt_from_the_ledger(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 100)
    assert (await chat(client, gateway.url, {**account.bearer, **_tokens(100, 100)}, model="deepseek-v4"))[0] == 200
    await _month_total(db, account.id, expect_rows=2)
    redis = aioredis.from_url(gateway.backend.redis_url)
    deleted = await redis.delete(*[k async for k in
                                   redis.scan_iter(f"{gateway.backend.redis_prefix}quota:{{{account.id}}}:*")])
    await redis.aclose()
    status, body, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert deleted == 1 and status == 429 and body["error"]["code"] == "insufficient_quota"
