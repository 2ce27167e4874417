"""Charging the usage of metered tiers at Stripe: once per closed month, exactly.

A background loop of the control plane runs every `billing.usage_report_interval_seconds`. Once a
month has been over for `billing.usage_report_delay_seconds` (so usage still queued for the
ledger lands first), it finalizes that month's invoice of every account that may owe a usage
charge for it, then charges every final invoice of a metered tier not charged yet: one Stripe
invoice holding one item, the month's usage rounded to the cent (stripe_api.charge_usage). With
no metered tier in gateway.yaml it does nothing.

Exactly once, whatever fails when: the amount is fixed in our invoice row before Stripe is asked;
the Stripe invoice's id is recorded as soon as Stripe made it, so a retry continues that invoice;
each call carries an idempotency key of the account and month, so a retry whose first answer got
lost gets the same object back; only finalizing charges, and a finalized invoice is never
finalized again. A charge that fails is retried on the next run. Several control planes may run
this at once: they agree the same way. Usage that lands after a month was charged still shows on
its invoice (`usage_usd`), uncharged.
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from control_plane import clock
from control_plane.accounts import store as account_store
from control_plane.background import Loop
from control_plane.billing import stripe_api
from control_plane.billing.config import METERED, Billing, billing, to_cents
from control_plane.billing.customers import stripe_customer
from control_plane.billing.invoices import finalize_closed_months
from control_plane.billing.metrics import USAGE_CHARGES
from control_plane.errors import ApiError
from control_plane.services import SERVICES
from control_plane.usage import report
from control_plane.usage.periods import month_name, month_start, next_month
from schemas.tables import accounts, invoices, tier_changes
from schemas.tables import usage_events as ue


async def finalize_month(engine: AsyncEngine, config: Billing, start: datetime) -> None:
    """Finalizes the month starting at `start` for every account that may owe a usage charge for it
    (on a metered tier now, or changed tier since; with usage in it) and has no invoice for it yet."""
    metered = [tier for tier in config.tiers if config.usage_billing(tier) == METERED]
    if not metered:
        return
    end, period = next_month(start), month_name(start)
    changed = sa.select(tier_changes.c.account_id).where(tier_changes.c.changed_at >= start)
    used = sa.select(ue.c.request_id).where(ue.c.account_id == accounts.c.id, ue.c.created_at >= start,
                                            ue.c.created_at < end)
    invoiced = sa.select(invoices.c.id).where(invoices.c.account_id == accounts.c.id, invoices.c.period == period)
    query = sa.select(accounts).where(sa.or_(accounts.c.tier.in_(metered), accounts.c.id.in_(changed)),
                                      sa.exists(used), ~sa.exists(invoiced))
    async with engine.connect() as conn:
        candidates = (await conn.execute(query)).all()
    for account in candidates:
        async with engine.begin() as conn:
            await finalize_closed_months(conn, account, config)


def _start(period: str) -> datetime:
    return datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)


async def _fix_amount(engine: AsyncEngine, invoice) -> int:
    """The cents to charge: the month's ledger cost now, unless another run fixed it first."""
    start = _start(invoice.period)
    async with engine.begin() as conn:
        usage = sum(totals.cost_nanos for *_, totals in
                    await report.by_model(conn, invoice.account_id, start, next_month(start)))
        await conn.execute(sa.update(invoices).where(invoices.c.id == invoice.id,
                                                     invoices.c.usage_charge_cents.is_(None))
                           .values(usage_charge_cents=to_cents(usage)))
        return (await conn.execute(sa.select(invoices.c.usage_charge_cents)
                                   .where(invoices.c.id == invoice.id))).scalar_one()


async def _set(engine: AsyncEngine, invoice_id: str, **values) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.update(invoices).where(invoices.c.id == invoice_id).values(**values))


async def charge(engine: AsyncEngine, api, invoice) -> None:
    """Charges one final invoice's usage (see the module docstring)."""
    cents = invoice.usage_charge_cents
    if cents is None:
        cents = await _fix_amount(engine, invoice)
    if cents > 0:
        async with engine.connect() as conn:
            account = await account_store.find_by_id(conn, invoice.account_id)
        start = _start(invoice.period)
        usage = stripe_api.UsageCharge(
            account_id=invoice.account_id, period=invoice.period, start=start, end=next_month(start), cents=cents,
            customer_id=await stripe_customer(engine, api, account.id, account.email),
            invoice_id=invoice.stripe_usage_invoice_id)

        async def remember(stripe_invoice_id: str) -> None:
            await _set(engine, invoice.id, stripe_usage_invoice_id=stripe_invoice_id)
        await stripe_api.charge_usage(api, usage, remember)
    await _set(engine, invoice.id, usage_charged_at=clock.now())


async def charge_due(engine: AsyncEngine, api, before: str) -> None:
    """Charges the metered invoices of months before `before` (YYYY-MM) not charged yet."""
    query = sa.select(invoices).where(invoices.c.usage_billing == METERED, invoices.c.usage_charged_at.is_(None),
                                      invoices.c.period < before)
    async with engine.connect() as conn:
        due = (await conn.execute(query)).all()
    for invoice in due:
        try:
            await charge(engine, api, invoice)
        except ApiError:  # Stripe failed (stripe_api logged it): the next run retries
            USAGE_CHARGES.labels("failed").inc()
        else:
            USAGE_CHARGES.labels("charged").inc()


async def run_once(app: web.Application) -> bool:
    """One run of the background loop: finalize the last chargeable month, charge what is due."""
    svc = app[SERVICES]
    config = billing(svc)
    chargeable = month_start(clock.now() - timedelta(seconds=config.report_after))  # the months before it
    await finalize_month(svc.engine, config, month_start(chargeable - timedelta(days=1)))
    if config.secret_key:
        await charge_due(svc.engine, stripe_api.client(app, config), month_name(chargeable))
    return False


async def run_usage_charger(app: web.Application):
    """cleanup_ctx: the background loop (its interval is read at start)."""
    loop = Loop("usage-charges", lambda: run_once(app), billing(app[SERVICES]).report_every)
    loop.start()
    yield
    await loop.stop()
