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


# A signed event is Stripe's, but its shape is still only JSON: every field is read through these,
# so a field of an unexpected type reads as absent rather than failing the request (or the database).
def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(obj: dict, name: str, max_length: int = 255) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and len(value) <= max_length else None


def _count(obj: dict, name: str) -> int:
    value = obj.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 31 else 0


def _metadata(obj: dict, name: str) -> str | None:
    return _text(_dict(obj.get("metadata")), name)


def _price(subscription: dict) -> str | None:
    items = _dict(subscription.get("items")).get("data")
    first = items[0] if isinstance(items, list) and items else {}
    return _text(_dict(_dict(first).get("price")), "id")


def _invoice_subscription(invoice: dict) -> str | None:
    # API versions from 2025-03 moved it under parent.subscription_details.
    details = _dict(_dict(invoice.get("parent")).get("subscription_details"))
    return _text(invoice, "subscription") or _text(details, "subscription")


async def _exists(conn: AsyncConnection, account_id: str | None) -> bool:
    return bool(account_id) and (await conn.execute(
        sa.select(accounts.c.id).where(accounts.c.id == account_id))).first() is not None


async def _account_of(conn: AsyncConnection, obj: dict) -> str | None:
    """Ours by the customer we created for the account, else by the metadata we gave Stripe."""
    customer = _text(obj, "customer")
    found = await store.account_of_customer(conn, customer) if customer else None
    account_id = found or _metadata(obj, "account_id")
    return account_id if await _exists(conn, account_id) else None


async def _current_subscription(conn: AsyncConnection, account_id: str) -> str | None:
    row = await store.billing_row(conn, account_id)
    return row.stripe_subscription_id if row else None


def _object(event: dict) -> dict:
    return _dict(_dict(event.get("data")).get("object"))


async def checkout_completed(conn: AsyncConnection, event: dict, billing: Billing) -> Outcome:
    session = _object(event)
    account_id = _text(session, "client_reference_id") or _metadata(session, "account_id")
    tier, subscription = _metadata(session, "tier"), _text(session, "subscription")
    if session.get("mode") != "subscription" or session.get("payment_status") not in PAID:
        return IGNORED  # not paid yet: customer.subscription.updated brings the tier once it is
    if tier not in billing.tiers or not subscription or not await _exists(conn, account_id):
        log.warning("stripe: checkout session %s names no account or tier of ours", _text(session, "id"))
        return IGNORED
    previous = await _current_subscription(conn, account_id)
    await store.save_subscription(conn, account_id, subscription, "active", _text(session, "customer"))
    await change_tier(conn, account_id, tier, "checkout.session.completed")
    return Outcome("applied", previous if previous and previous != subscription else None)


async def subscription_changed(conn: AsyncConnection, event: dict, billing: Billing) -> Outcome:
    subscription = _object(event)
    account_id, status = await _account_of(conn, subscription), _text(subscription, "status", 40)
    current = await _current_subscription(conn, account_id) if account_id else None
    subscription_id = _text(subscription, "id")
    # Before checkout.session.completed (Stripe does not order events) there is no current one yet.
    if account_id is None or not subscription_id or (
            (current or status in ENDED) and current != subscription_id):
        return IGNORED
    if status in ENDED:
        await store.end_subscription(conn, account_id, subscription_id, status)
        await change_tier(conn, account_id, FREE, "customer.subscription.updated")
        return APPLIED
    await store.save_subscription(conn, account_id, subscription_id, status, _text(subscription, "customer"))
    tier = billing.tier_for_price(_price(subscription)) or _metadata(subscription, "tier")
    if status in ACTIVE and tier in billing.tiers:
        await change_tier(conn, account_id, tier, "customer.subscription.updated")
    return APPLIED  # past_due and the like keep the tier while Stripe retries the payment


async def subscription_deleted(conn: AsyncConnection, event: dict, _billing: Billing) -> Outcome:
    subscription = _object(event)
    account_id = await _account_of(conn, subscription)
    current = await _current_subscription(conn, account_id) if account_id else None
    if current is None or current != _text(subscription, "id"):
        return IGNORED
    await store.end_subscription(conn, account_id, current, "canceled")
    await change_tier(conn, account_id, FREE, "customer.subscription.deleted")
    return APPLIED


async def payment_failed(conn: AsyncConnection, event: dict, _billing: Billing) -> Outcome:
    invoice = _object(event)
    account_id = await _account_of(conn, invoice)
    if account_id is None:
        return IGNORED
    await store.record_payment_failure(conn, account_id, event["id"], {
        "id": _text(invoice, "id"), "subscription": _invoice_subscription(invoice),
        "amount_due": _count(invoice, "amount_due"), "currency": _text(invoice, "currency", 3),
        "attempt_count": _count(invoice, "attempt_count")})
    log.info("stripe: payment failed for account %s (invoice %s)", account_id, _text(invoice, "id"))
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
