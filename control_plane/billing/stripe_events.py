"""Applying Stripe's events to our accounts, each exactly once.

The event id is recorded in the same transaction that applies the event: a retried delivery finds
it and changes nothing, and a failure rolls both back so Stripe's next retry applies it. Events
about a subscription other than the account's current one (replaced or already cancelled) are
recorded and ignored.
"""
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.billing import store
from control_plane.billing.config import Billing
from control_plane.billing.tiers import change_tier
from schemas.tables import accounts

log = logging.getLogger(__name__)
PAID = ("paid", "no_payment_required")
ACTIVE = ("active", "trialing")
ENDED = ("canceled", "unpaid", "incomplete_expired", "paused")
FREE = "free"


@dataclass(frozen=True)
class Outcome:
    result: str                        # applied | duplicate | ignored
    replaced_subscription: str | None = None  # to cancel at Stripe once the change committed


APPLIED, IGNORED = Outcome("applied"), Outcome("ignored")


def _metadata(obj: dict, name: str) -> str | None:
    return (obj.get("metadata") or {}).get(name)


def _price(subscription: dict) -> str | None:
    items = (subscription.get("items") or {}).get("data") or [{}]
    return (items[0].get("price") or {}).get("id")


def _invoice_subscription(invoice: dict) -> str | None:
    # API versions from 2025-03 moved it under parent.subscription_details.
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return invoice.get("subscription") or details.get("subscription")


async def _exists(conn: AsyncConnection, account_id: str | None) -> bool:
    return bool(account_id) and (await conn.execute(
        sa.select(accounts.c.id).where(accounts.c.id == account_id))).first() is not None


async def _account_of(conn: AsyncConnection, obj: dict) -> str | None:
    """Ours by the customer we created for the account, else by the metadata we gave Stripe."""
    customer = obj.get("customer")
    found = await store.account_of_customer(conn, customer) if isinstance(customer, str) else None
    account_id = found or _metadata(obj, "account_id")
    return account_id if await _exists(conn, account_id) else None


async def _current_subscription(conn: AsyncConnection, account_id: str) -> str | None:
    row = await store.billing_row(conn, account_id)
    return row.stripe_subscription_id if row else None


def _object(event: dict) -> dict:
    return (event.get("data") or {}).get("object") or {}


async def checkout_completed(conn: AsyncConnection, event: dict, billing: Billing) -> Outcome:
    session = _object(event)
    account_id = session.get("client_reference_id") or _metadata(session, "account_id")
    tier, subscription = _metadata(session, "tier"), session.get("subscription")
    if session.get("mode") != "subscription" or session.get("payment_status") not in PAID:
        return IGNORED  # not paid yet: customer.subscription.updated brings the tier once it is
    if tier not in billing.tiers or not subscription or not await _exists(conn, account_id):
        log.warning("stripe: checkout session %s names no account or tier of ours", session.get("id"))
        return IGNORED
    previous = await _current_subscription(conn, account_id)
    await store.save_subscription(conn, account_id, subscription, "active", session.get("customer"))
    await change_tier(conn, account_id, tier, "checkout.session.completed")
    return Outcome("applied", previous if previous and previous != subscription else None)


async def subscription_changed(conn: AsyncConnection, event: dict, billing: Billing) -> Outcome:
    subscription = _object(event)
    account_id, status = await _account_of(conn, subscription), subscription.get("status")
    current = await _current_subscription(conn, account_id) if account_id else None
    # Before checkout.session.completed (Stripe does not order events) there is no current one yet.
    if account_id is None or not subscription.get("id") or (
            (current or status in ENDED) and current != subscription["id"]):
        return IGNORED
    if status in ENDED:
        await store.end_subscription(conn, account_id, subscription["id"], status)
        await change_tier(conn, account_id, FREE, "customer.subscription.updated")
        return APPLIED
    await store.save_subscription(conn, account_id, subscription.get("id"), status, subscription.get("customer"))
    tier = billing.tier_for_price(_price(subscription)) or _metadata(subscription, "tier")
    if status in ACTIVE and tier in billing.tiers:
        await change_tier(conn, account_id, tier, "customer.subscription.updated")
    return APPLIED  # past_due and the like keep the tier while Stripe retries the payment


async def subscription_deleted(conn: AsyncConnection, event: dict, _billing: Billing) -> Outcome:
    subscription = _object(event)
    account_id = await _account_of(conn, subscription)
    current = await _current_subscription(conn, account_id) if account_id else None
    if current is None or current != subscription.get("id"):
        return IGNORED
    await store.end_subscription(conn, account_id, subscription["id"], "canceled")
    await change_tier(conn, account_id, FREE, "customer.subscription.deleted")
    return APPLIED


async def payment_failed(conn: AsyncConnection, event: dict, _billing: Billing) -> Outcome:
    invoice = _object(event)
    account_id = await _account_of(conn, invoice)
    if account_id is None:
        return IGNORED
    await store.record_payment_failure(conn, account_id, event["id"],
                                       {**invoice, "subscription": _invoice_subscription(invoice)})
    log.info("stripe: payment failed for account %s (invoice %s)", account_id, invoice.get("id"))
    return APPLIED


HANDLERS = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_deleted,
    "invoice.payment_failed": payment_failed,
}


async def apply_event(conn: AsyncConnection, event: dict, billing: Billing) -> Outcome:
    if not await store.record_event(conn, event["id"], event["type"]):
        return Outcome("duplicate")
    handler = HANDLERS.get(event["type"])
    return await handler(conn, event, billing) if handler else IGNORED
