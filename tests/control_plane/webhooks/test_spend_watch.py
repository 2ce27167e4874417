"""The spend watch: 80 % and 100 % of an account's monthly spend cap (its tier's or its own, the lower),
each notified once per month, counting what the ledger charged (BYOK at its fee)."""
import json
import time
import uuid

import pytest
import sqlalchemy as sa
import yaml

from control_plane import clock
from control_plane.usage.ledger import insert_events
from control_plane.webhooks import store
from control_plane.webhooks.signing import SecretBox
from control_plane.webhooks.spend_watch import SpendWatch
from schemas.events import UsageEvent
from schemas.gateway import GatewayConfig
from schemas.tables import accounts, spend_cap_notifications, webhook_deliveries
from tests.support.stack import ROOT

RAW = yaml.safe_load((ROOT / "gateway.yaml").read_text())
RAW["tiers"]["enterprise"]["monthly_spend_cap_usd"] = "10"
CONFIG = GatewayConfig(RAW)
TEN_USD = 10_000_000_000


@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


async def _account(engine, tier: str = "enterprise", own_cap: int | None = None) -> str:
    account_id = f"acct_{uuid.uuid4().hex}"
    async with engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id=account_id, email=f"{account_id}@example.com",
                                                      password_hash="x", tier=tier, created_at=clock.now(),
                                                      spend_cap_nanos=own_cap))
        await store.create_webhook(conn, SecretBox(b"k" * 48), account_id, "https://93.184.215.14/hook",
                                   ["usage.spend_cap_threshold"], "")
    return account_id


async def _spend(engine, account_id: str, nanos: int, key_source: str = "pool") -> None:
    event = UsageEvent(request_id=uuid.uuid4().hex, account_id=account_id, key_id="key_1", key_source=key_source,
                       model="deepseek-v4", provider="deepseek", prompt_tokens=1, completion_tokens=0,
                       cost_nanos=nanos, status=200, latency_ms=1, streamed=False, created_at=time.time())
    async with engine.begin() as conn:
        await insert_events(conn, [event])


async def _events(engine, account_id: str) -> list[dict]:
    async with engine.connect() as conn:
        payloads = (await conn.execute(sa.select(webhook_deliveries.c.payload).where(
            webhook_deliveries.c.account_id == account_id).order_by(webhook_deliveries.c.created_at))).scalars()
        return [json.loads(p) for p in payloads]


async def test_the_tiers_cap_notifies_80_then_100_percent_once_each(engine):
    account = await _account(engine)
    await _spend(engine, account, TEN_USD * 8 // 10)
    await SpendWatch(engine, lambda: CONFIG).run_once()
    await SpendWatch(engine, lambda: CONFIG).run_once()  # a restarted (or second) control plane
    await _spend(engine, account, TEN_USD // 10, key_source="byok")  # a BYOK row counts its (charged) fee
    await _spend(engine, account, TEN_USD // 10)
    watch = SpendWatch(engine, lambda: CONFIG)
    await watch.run_once()
    await watch.run_once()
    events = await _events(engine, account)
    assert [e["type"] for e in events] == ["usage.spend_cap_threshold"] * 2
    assert [e["data"] for e in events] == [
        {"threshold_percent": 80, "period": clock.now().strftime("%Y-%m"), "spent_usd": "8",
         "monthly_spend_cap_usd": "10", "cap": "tier", "tier": "enterprise"},
        {"threshold_percent": 100, "period": clock.now().strftime("%Y-%m"), "spent_usd": "10",
         "monthly_spend_cap_usd": "10", "cap": "tier", "tier": "enterprise"}]


async def test_the_accounts_own_lower_cap_is_the_one_compared(engine):
    account = await _account(engine, tier="pro", own_cap=1_000_000)  # $0.001, on a tier without a cap
    await _spend(engine, account, 900_000)
    await SpendWatch(engine, lambda: CONFIG).run_once()
    [event] = await _events(engine, account)
    assert event["data"]["threshold_percent"] == 80 and event["data"]["cap"] == "account"
    assert event["data"]["monthly_spend_cap_usd"] == "0.001"


async def test_accounts_without_a_cap_are_never_notified_and_79_percent_is_not_80(engine):
    uncapped = await _account(engine, tier="pro")
    under = await _account(engine)
    await _spend(engine, uncapped, 10 ** 15)
    await _spend(engine, under, TEN_USD * 79 // 100)
    await SpendWatch(engine, lambda: CONFIG).run_once()
    assert await _events(engine, uncapped) == [] and await _events(engine, under) == []
    async with engine.connect() as conn:
        claimed = (await conn.execute(sa.select(sa.func.count()).select_from(spend_cap_notifications).where(
            spend_cap_notifications.c.account_id.in_([uncapped, under])))).scalar_one()
    assert claimed == 0
