"""Each account's Stripe customer: made the first time Stripe needs one (Checkout, or a metered
month's usage charge), then kept in billing_accounts."""
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from control_plane.billing import store, stripe_api


async def stripe_customer(engine: AsyncEngine, api: stripe.StripeClient, account_id: str, email: str) -> str:
    async with engine.connect() as conn:
        row = await store.billing_row(conn, account_id)
    if row is not None and row.stripe_customer_id:
        return row.stripe_customer_id
    customer_id = await stripe_api.create_customer(api, account_id, email)
    async with engine.begin() as conn:
        await store.save_customer(conn, account_id, customer_id)
    return customer_id
