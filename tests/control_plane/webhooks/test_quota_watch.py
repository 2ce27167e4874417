"""The quota watch: 80 % and 100 % of the tier's monthly tokens, each notified once per month."""
import json
import time
import uuid

import pytest
import sqlalchemy as sa
import yaml

from control_plane import clock
from control_plane.usage.ledger import insert_events
from control_plane.webhooks import store
from control_plane.webhooks.quota_watch import QuotaWatch, crossed
from control_plane.webhooks.signing import SecretBox
from schemas.events import UsageEvent
from schemas.gateway import GatewayConfig
from schemas.tables import accounts, quota_notifications, webhook_deliveries
from tests.support.stack import ROOT

CONFIG = GatewayConfig(yaml.safe_load((ROOT / "gateway.yaml").read_text()))
FREE_QUOTA = CONFIG.tiers["free"]["monthly_tokens"]


@pytest.mark.parametrize("used,quota,expected", [
    (0, 100, []), (79, 100, []), (80, 100, [80]), (99, 100, [80]), (100, 100, [80, 100]), (500, 100, [80, 100]),
    (10 ** 12, None, []),
])
def test_thresholds_crossed(used, quota, expected):
    assert crossed(used, quota) == expected


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


@pytest.fixture
def watch(engine):
    return QuotaWatch(engine, lambda: CONFIG)


async def _account(engine, tier: str = "free") -> str:
    account_id = f"acct_{uuid.uuid4().hex}"
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id=account_id, email=f"{account_id}@example.com",
                                                      password_hash="x", tier=tier, created_at=clock.now()))
        await store.create_webhook(conn, SecretBox(b"k" * 48), account_id, "https://93.184.215.14/hook",
                                   ["usage.quota_threshold"], "")
    return account_id


async def _use(engine, account_id: str, tokens: int, key_source: str = "pool") -> None:
    event = UsageEvent(request_id=uuid.uuid4().hex, account_id=account_id, key_id="", key_source=key_source,
                       model="deepseek-v4", provider="deepseek", prompt_tokens=tokens, completion_tokens=0,
                       cost_nanos=0, status=200, latency_ms=1, streamed=False, created_at=time.time())
    async with engine.begin() as conn:
        await insert_events(conn, [event])


async def _events(engine, account_id: str) -> list[dict]:
    async with engine.connect() as conn:
        payloads = (await conn.execute(sa.select(webhook_deliveries.c.payload).where(
            webhook_deliveries.c.account_id == account_id).order_by(webhook_deliveries.c.created_at))).scalars()
        return [json.loads(p) for p in payloads]


async def test_crossing_80_percent_emits_one_event_with_the_numbers(engine, watch):
    account = await _account(engine)
    await _use(engine, account, FREE_QUOTA * 8 // 10)
    await watch.run_once()
    [event] = await _events(engine, account)
    assert event["type"] == "usage.quota_threshold"
    assert event["data"] == {"threshold_percent": 80, "period": clock.now().strftime("%Y-%m"),
                             "used_tokens": FREE_QUOTA * 8 // 10, "monthly_tokens": FREE_QUOTA, "tier": "free"}


async def test_tokens_sent_with_the_accounts_own_key_are_not_counted(engine, watch):
    account = await _account(engine)
    await _use(engine, account, FREE_QUOTA * 7 // 10)
    await _use(engine, account, FREE_QUOTA * 5, key_source="byok")
    await watch.run_once()
    assert await _events(engine, account) == []


async def test_each_threshold_is_notified_once_however_often_the_watch_looks(engine, watch):
    account = await _account(engine)
    await _use(engine, account, FREE_QUOTA * 9 // 10)
    await watch.run_once()
    await watch.run_once()
    await _use(engine, account, FREE_QUOTA // 5)
    await watch.run_once()
    await QuotaWatch(engine, lambda: CONFIG).run_once()  # a restarted (or second) control plane
    assert [e["data"]["threshold_percent"] for e in await _events(engine, account)] == [80, 100]


async def test_a_jump_past_both_thresholds_emits_both(engine, watch):
    account = await _account(engine)
    await _use(engine, account, FREE_QUOTA * 2)
    await watch.run_once()
    assert [e["data"]["threshold_percent"] for e in await _events(engine, account)] == [80, 100]


async def test_below_80_percent_nothing_is_emitted(engine, watch):
    account = await _account(engine)
    await _use(engine, account, FREE_QUOTA * 8 // 10 - 1)
    await watch.run_once()
    assert await _events(engine, account) == []


async def test_an_unlimited_tier_is_never_notified(engine, watch):
    account = await _account(engine, "enterprise")
    await _use(engine, account, 10 ** 10)
    await watch.run_once()
    assert await _events(engine, account) == []


async def test_the_notification_is_recorded_even_without_a_subscribed_webhook(engine, watch):
    account_id = f"acct_{uuid.uuid4().hex}"
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id=account_id, email=f"{account_id}@example.com",
                                                      password_hash="x", created_at=clock.now()))
    await _use(engine, account_id, FREE_QUOTA)
    await watch.run_once()
    async with engine.connect() as conn:
        thresholds = (await conn.execute(sa.select(quota_notifications.c.threshold).where(
            quota_notifications.c.account_id == account_id).order_by(quota_notifications.c.threshold))).scalars()
        assert list(thresholds) == [80, 100]
