"""POST /v1/billing/checkout's two paths: a paid tier is bought through Stripe Checkout (the tier
changes when Stripe reports the payment); a free tier takes effect at once, and any subscription
is cancelled at Stripe first so the customer is not charged again."""
from aiohttp import web

from control_plane.billing import store, stripe_api
from control_plane.billing.config import Billing
from control_plane.billing.customers import stripe_customer
from control_plane.billing.tiers import change_tier
from control_plane.services import services

DOWNGRADE = "checkout.downgrade"


def _view(action: str, tier: str, **extra) -> dict:
    return {"object": "billing.checkout", "action": action, "tier": tier, **extra}


def unchanged(tier: str) -> dict:
    return _view("unchanged", tier)


async def start_checkout(request: web.Request, billing: Billing, account, tier: str) -> dict:
    api = stripe_api.client(request.app, billing)
    customer = await stripe_customer(services(request).engine, api, account.id, account.email)
    session = await stripe_api.create_checkout(api, billing, customer, account.id, tier)
    return _view("checkout", tier, current_tier=account.tier, session_id=session.id, url=session.url)


async def downgrade(request: web.Request, billing: Billing, account, tier: str) -> dict:
    engine = services(request).engine
    async with engine.connect() as conn:
        row = await store.billing_row(conn, account.id)
    subscription = row.stripe_subscription_id if row else None
    if subscription:
        await stripe_api.cancel_subscription(stripe_api.client(request.app, billing), subscription)
    async with engine.begin() as conn:
        if subscription:
            await store.end_subscription(conn, account.id, subscription, "canceled")
        previous = await change_tier(conn, account.id, tier, DOWNGRADE)
    return _view("changed", tier, previous_tier=previous or account.tier)
