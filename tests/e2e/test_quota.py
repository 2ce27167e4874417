"""Monthly token quotas: reserved before the call, settled after it, exact enough under concurrency."""
import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import account_on_tier, chat, simulator_ledger
from tests.support.api import call, new_account
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
    first = await chat(client, gateway.url, {**account.bearer, **_tokens(500, 500)}, model="deepseek-v4",
                       max_tokens=500)
    status, body, headers = await chat(client, gateway.url, account.bearer, model="deepseek-v4")
    assert first[0] == 200
    assert status == 429 and body["error"]["code"] == "insufficient_quota"
    assert body["error"]["type"] == "insufficient_quota" and "retry-after" not in headers


async def test_request_that_does_not_fit_what_is_left_is_refused_before_the_provider(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 1_000)
    calls = len(await simulator_ledger(client, gateway, provider="mistral"))
    # 3 600 characters: about 900 prompt tokens, plus 200 of max_tokens, where 1 000 are left.
    status, body, headers = await chat(client, gateway.url, account.bearer, model="mistral/large", max_tokens=200,
                                       messages=[{"role": "user", "content": "word " * 720}])
    assert status == 429 and body["error"]["code"] == body["error"]["type"] == "insufficient_quota"
    assert "1,000 of your monthly quota" in body["error"]["message"] and "retry-after" not in headers
    assert len(await simulator_ledger(client, gateway, provider="mistral")) == calls
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    assert usage["quota"]["used_tokens"] == FREE_QUOTA - 1_000 and usage["requests"] == 1


async def test_request_that_fits_what_is_left_is_admitted(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 1_000)
    status, body, _ = await chat(client, gateway.url, {**account.bearer, **_tokens(6, 994)}, model="deepseek-v4",
                                 max_tokens=994)  # 6 + 994: exactly what is left
    assert status == 200, body
    assert await _month_total(db, account.id, expect_rows=2) == FREE_QUOTA


async def test_a_huge_prompt_is_refused_before_the_provider_on_a_fresh_account(client, gateway, db):
    account = await new_account(client, gateway.url)
    calls = len(await simulator_ledger(client, gateway, provider="mistral"))
    huge = "token " * 650_000  # 3.9 MB: about 975 000 tokens, ten times the free tier's month
    status, body, _ = await chat(client, gateway.url, account.bearer, model="mistral/large", max_tokens=10,
                                 messages=[{"role": "user", "content": huge}])
    assert status == 429 and body["error"]["code"] == "insufficient_quota", body
    assert len(await simulator_ledger(client, gateway, provider="mistral")) == calls


async def test_reservation_is_settled_to_the_actual_usage(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, FREE_QUOTA - 5_000)
    # Reserves over 4 000 tokens but uses 15: were it not settled, the next one would be refused.
    for _ in range(3):
        status, _, _ = await chat(client, gateway.url, {**account.bearer, **_tokens(5, 10)}, model="deepseek-v4",
                                  max_tokens=4_000)
        assert status == 200


async def test_concurrent_requests_never_pass_the_quota(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await insert_usage(db, account.id, PRO_QUOTA - 3_000)
    # Each uses exactly its reservation: one message of "Hello!" (4 + 2 tokens) plus the completion cap.
    headers, max_tokens = {**account.bearer, **_tokens(6, 1_000)}, 1_000
    results = await asyncio.gather(*(chat(client, gateway.url, headers, model="deepseek-v4", max_tokens=max_tokens)
                                     for _ in range(30)))
    served = [status for status, _, _ in results if status == 200]
    refused = [body["error"]["code"] for status, body, _ in results if status == 429]
    assert len(served) == 2 and len(refused) == 28 and set(refused) == {"insufficient_quota"}
    total = await _month_total(db, account.id, expect_rows=1 + len(served))
    assert total == PRO_QUOTA - 3_000 + 2 * 1_006 <= PRO_QUOTA


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
    assert (await chat(client, gateway.url, {**account.bearer, **_tokens(50, 40)}, model="deepseek-v4",
                       max_tokens=40))[0] == 200
    await _month_total(db, account.id, expect_rows=2)  # 10 tokens left
    redis = aioredis.from_url(gateway.backend.redis_url)
    deleted = await redis.delete(*[k async for k in
                                   redis.scan_iter(f"{gateway.backend.redis_prefix}quota:{{{account.id}}}:*")])
    await redis.aclose()
    # Reserves 6 + 40 tokens: fits a lost counter, not the one rebuilt from the ledger.
    status, body, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4", max_tokens=40)
    assert deleted == 1 and status == 429 and body["error"]["code"] == "insufficient_quota"
