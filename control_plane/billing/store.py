"""Billing rows: each account's Stripe customer and subscription, applied events, payment failures."""
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.db.upsert import insert_for
from control_plane.ids import new_id
from schemas.tables import billing_accounts, payment_failures, stripe_events


async def billing_row(conn: AsyncConnection, account_id: str):
    return (await conn.execute(sa.select(billing_accounts).where(billing_accounts.c.account_id == account_id))).first()


async def account_of_customer(conn: AsyncConnection, customer_id: str) -> str | None:
    return (await conn.execute(sa.select(billing_accounts.c.account_id)
                               .where(billing_accounts.c.stripe_customer_id == customer_id))).scalar()


async def save_customer(conn: AsyncConnection, account_id: str, customer_id: str) -> None:
    """Remember the account's Stripe customer, unless it already has one."""
    await conn.execute(insert_for(conn, billing_accounts).values(
        account_id=account_id, stripe_customer_id=customer_id, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["account_id"]))
    await conn.execute(sa.update(billing_accounts).where(
        billing_accounts.c.account_id == account_id, billing_accounts.c.stripe_customer_id.is_(None))
        .values(stripe_customer_id=customer_id, updated_at=clock.now()))


async def save_subscription(conn: AsyncConnection, account_id: str, subscription_id: str | None, status: str,
                            customer_id: str | None = None) -> None:
    values = {"stripe_subscription_id": subscription_id, "subscription_status": status, "updated_at": clock.now()}
    if customer_id:
        values["stripe_customer_id"] = customer_id
    statement = insert_for(conn, billing_accounts).values(account_id=account_id, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=["account_id"], set_=values))


async def end_subscription(conn: AsyncConnection, account_id: str, subscription_id: str, status: str) -> None:
    """Forget the account's subscription, if it still is this one (a newer checkout may have replaced it)."""
    await conn.execute(sa.update(billing_accounts).where(
        billing_accounts.c.account_id == account_id, billing_accounts.c.stripe_subscription_id == subscription_id)
        .values(stripe_subscription_id=None, subscription_status=status, updated_at=clock.now()))


async def record_event(conn: AsyncConnection, event_id: str, event_type: str) -> bool:
    """True the first time an event id is seen. Inside the transaction that applies the event: a
    failure rolls both back, and Stripe's retry applies it then."""
    result = await conn.execute(insert_for(conn, stripe_events).values(
        id=event_id, type=event_type[:100], received_at=clock.now()).on_conflict_do_nothing(index_elements=["id"]))
    return result.rowcount == 1


async def record_payment_failure(conn: AsyncConnection, account_id: str, event_id: str, invoice: dict) -> None:
    await conn.execute(sa.insert(payment_failures).values(
        id=new_id("payfail"), account_id=account_id, stripe_event_id=event_id,
        stripe_invoice_id=str(invoice.get("id") or ""), stripe_subscription_id=invoice.get("subscription"),
        amount_due=int(invoice.get("amount_due") or 0), currency=str(invoice.get("currency") or "usd")[:3],
        attempt_count=int(invoice.get("attempt_count") or 0), created_at=clock.now()))
