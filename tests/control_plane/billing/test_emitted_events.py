"""What billing tells webhooks and sidecars, on both databases: billing.tier_changed with each tier
change (and the change feed entry sidecars evict on), invoice.created once per closed month.

A webhook row subscribed to every event stands in for an account's endpoint; no delivery worker
runs here, so the queued deliveries are what `emit` produced."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from control_plane.billing.config import Billing
from control_plane.billing.invoices import list_invoices
from control_plane.billing.tiers import change_tier
from control_plane.webhooks.events import EVENT_TYPES
from schemas.gateway import load
from schemas.tables import account_changes, accounts, usage_events, webhook_deliveries, webhooks
from tests.support.stack import ROOT

TIERS = load(ROOT / "gateway.yaml").tiers
BILLING = Billing("", "", "", "", "", {}, TIERS)


@pytest.fixture
async def account(migrated_engine):
    """An account created three months ago, with a webhook that wants every event."""
    created = datetime.now(UTC) - timedelta(days=75)
    async with migrated_engine.begin() as conn:
        await conn.execute(sa.insert(accounts).values(id="acct_e", email="e@example.com", password_hash="x",
                                                      tier="free", created_at=created))
        await conn.execute(sa.insert(webhooks).values(
            id="wh_e", account_id="acct_e", url="https://hooks.invalid/e", events=list(EVENT_TYPES), description="",
            secret_encrypted="unused", secret_last4="abcd", created_at=created))
        row = (await conn.execute(sa.select(accounts).where(accounts.c.id == "acct_e"))).one()
    return row


async def _queued(engine, event_type: str) -> list[str]:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(webhook_deliveries.c.payload)
                                   .where(webhook_deliveries.c.event_type == event_type))).scalars().all()


async def test_a_tier_change_emits_billing_tier_changed_and_feeds_the_sidecars(migrated_engine, account):
    async with migrated_engine.begin() as conn:
        assert await change_tier(conn, account.id, "pro", "test") == "free"
    [payload] = await _queued(migrated_engine, "billing.tier_changed")
    assert '"previous_tier":"free"' in payload and '"tier":"pro"' in payload
    async with migrated_engine.connect() as conn:
        fed = (await conn.execute(sa.select(account_changes.c.account_id))).scalars().all()
    assert fed == [account.id]


async def test_changing_to_the_tier_already_held_emits_nothing(migrated_engine, account):
    async with migrated_engine.begin() as conn:
        assert await change_tier(conn, account.id, "free", "test") is None
    assert await _queued(migrated_engine, "billing.tier_changed") == []


async def test_invoice_created_is_emitted_once_per_closed_month(migrated_engine, account):
    async with migrated_engine.begin() as conn:
        await conn.execute(sa.insert(usage_events).values(
            request_id="r1", account_id=account.id, key_source="pool", model="deepseek-v4", provider="deepseek",
            prompt_tokens=1, completion_tokens=1, total_tokens=2, cost_nanos=2, status=200, latency_ms=1,
            streamed=False, created_at=account.created_at))
    for _ in range(2):
        async with migrated_engine.begin() as conn:
            listed = await list_invoices(conn, account, BILLING)
    closed = [invoice["id"] for invoice in listed if invoice["status"] == "final"]
    payloads = await _queued(migrated_engine, "invoice.created")
    assert len(payloads) == len(closed) >= 2
    assert all(any(invoice_id in payload for payload in payloads) for invoice_id in closed)
