"""Helpers for the billing tests: checkout through the gateway, payment at the Stripe stand-in, and
Stripe events signed with Stripe's scheme."""
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from control_plane.billing.stripe_standin.signing import signature_header
from schemas.tables import accounts, billing_accounts
from tests.e2e.chat import chat
from tests.support.api import Account, call


async def checkout(client, base: str, account: Account, tier) -> tuple[int, dict]:
    status, body, _ = await call(client, "POST", f"{base}/v1/billing/checkout", json={"tier": tier},
                                 headers=account.bearer)
    return status, body


async def pay(client, checkout_url: str) -> dict:
    """What the customer does on Stripe's page; the stand-in then sends checkout.session.completed."""
    status, body, _ = await call(client, "POST", f"{checkout_url}/complete")
    assert status == 200, body
    return body


async def subscribe(client, gateway, account: Account, tier: str) -> dict:
    """Checkout + payment; the stand-in's answer: the event it sent and the gateway's reply to it."""
    status, body = await checkout(client, gateway.url, account, tier)
    assert status == 200 and body["action"] == "checkout", body
    paid = await pay(client, body["url"])
    assert paid["delivery"]["status"] == 200, paid
    return paid


def stripe_event(event_type: str, obj: dict) -> dict:
    return {"id": f"evt_test_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": int(time.time()),
            "livemode": False, "data": {"object": obj}}


async def post_event(client, gateway, event: dict, secret: str | None = None, **signing) -> tuple[int, dict]:
    """POST a Stripe event to the gateway's webhook through Envoy, signed with `secret` (default: the
    gateway's own webhook secret); signing={"header": None} sends it unsigned."""
    payload = json.dumps(event)
    secret = secret or gateway.secrets["STRIPE_WEBHOOK_SECRET"]
    header = signing.get("header", signature_header(payload, secret, signing.get("timestamp")))
    headers = {"Content-Type": "application/json", **({"Stripe-Signature": header} if header else {})}
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/billing/webhook", data=payload, headers=headers)
    return status, body


async def tier_of(db, account_id: str) -> str:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(accounts.c.tier).where(accounts.c.id == account_id))).scalar_one()


async def billing_row(db, account_id: str):
    async with db.connect() as conn:
        return (await conn.execute(sa.select(billing_accounts)
                                   .where(billing_accounts.c.account_id == account_id))).first()


async def answered_on_tier(client, base: str, account: Account, tier: str, within: float = 1.0) -> dict:
    """Chat completions until the data plane answers one on `tier`; fails if none is within `within` s.

    Served (200) or refused by that tier's own rate limit (429): the requests made while waiting count
    against the new tier's window too, and a free tier allows only 10 a minute."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        status, _, headers = await chat(client, base, account.bearer, model="deepseek-v4")
        if status in (200, 429) and headers.get("X-Tier") == tier:
            return headers
        assert loop.time() < deadline, f"still {headers.get('X-Tier')} (status {status}) after {within} s"
        await asyncio.sleep(0.05)


async def standin_charges(client, gateway, customer: str) -> list[dict]:
    """Every charge the Stripe stand-in made to `customer`, oldest first."""
    status, body, _ = await call(client, "GET", f"{gateway.stripe_url}/_standin/charges?customer={customer}")
    assert status == 200, body
    return body["data"]


def charged_in(charges: list[dict], period: str) -> Decimal:
    """USD charged for the service period `period` (YYYY-MM)."""
    cents = sum(c["amount"] for c in charges
                if datetime.fromtimestamp(c["period"]["start"], UTC).strftime("%Y-%m") == period)
    return Decimal(cents) / 100
