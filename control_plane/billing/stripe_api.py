"""The calls we make to Stripe, through the official SDK (async, over the app's aiohttp session).

`Billing.api_base` sends them elsewhere (the bundled stand-in in `make run` and the tests); the
code path is the same either way.
"""
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import stripe
from aiohttp import web

from control_plane.billing.config import Billing
from control_plane.errors import ApiError

log = logging.getLogger(__name__)
HTTP = web.AppKey("stripe_http", aiohttp.ClientSession)


async def http_session(app: web.Application):
    """cleanup_ctx: one connection pool for every Stripe call of the process."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        app[HTTP] = session
        yield


def client(app: web.Application, billing: Billing) -> stripe.StripeClient:
    if not billing.secret_key:
        raise ApiError(503, "Billing is not configured on this gateway", "billing_unavailable")
    return stripe.StripeClient(billing.secret_key,
                               base_addresses={"api": billing.api_base} if billing.api_base else None,
                               http_client=stripe.AIOHTTPClient(session=app[HTTP]), max_network_retries=2)


@contextlib.contextmanager
def stripe_errors(action: str):
    """A failed Stripe call becomes a 502 for our client; the log names the error, never a secret."""
    try:
        yield
    except stripe.StripeError as exc:
        log.warning("stripe: could not %s: %s (status %s, code %s)", action, type(exc).__name__,
                    exc.http_status, exc.code)
        raise ApiError(502, f"Stripe could not {action}; try again later", "billing_provider_error") from exc


async def create_customer(api: stripe.StripeClient, account_id: str, email: str) -> str:
    # The idempotency key makes two racing checkouts of one account share a customer.
    with stripe_errors("create the customer"):
        customer = await api.v1.customers.create_async(
            params={"email": email, "metadata": {"account_id": account_id}},
            options={"idempotency_key": f"clew-customer-{account_id}"})
    return customer.id


async def create_checkout(api: stripe.StripeClient, billing: Billing, customer_id: str, account_id: str,
                          tier: str) -> stripe.checkout.Session:
    metadata = {"account_id": account_id, "tier": tier}
    with stripe_errors("create the checkout session"):
        return await api.v1.checkout.sessions.create_async(params={
            "mode": "subscription", "customer": customer_id, "client_reference_id": account_id,
            "line_items": [{"price": billing.prices[tier], "quantity": 1}],
            "success_url": billing.success_url, "cancel_url": billing.cancel_url,
            "metadata": metadata, "subscription_data": {"metadata": metadata}})


async def cancel_subscription(api: stripe.StripeClient, subscription_id: str) -> None:
    """Cancel at once; a subscription Stripe no longer has counts as cancelled."""
    with stripe_errors("cancel the subscription"):
        try:
            await api.v1.subscriptions.cancel_async(subscription_id)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise


@dataclass(frozen=True)
class UsageCharge:
    """A metered month's usage, as Stripe is asked to charge it."""
    account_id: str
    customer_id: str
    period: str              # YYYY-MM
    start: datetime
    end: datetime
    cents: int
    invoice_id: str | None   # the Stripe invoice an earlier attempt made, if any

    @property
    def description(self) -> str:
        return f"API usage {self.period}"

    @property
    def metadata(self) -> dict:
        return {"account_id": self.account_id, "period": self.period}

    @property
    def service_period(self) -> dict:
        return {"start": int(self.start.timestamp()), "end": int(self.end.timestamp())}


async def charge_usage(api: stripe.StripeClient, charge: UsageCharge, remember) -> str:
    """One Stripe invoice holding one item (the month's usage), finalized with automatic collection
    so that Stripe charges it; returns its id. An earlier attempt's invoice (`charge.invoice_id`)
    is continued, not made again; a new one's id goes to `remember` before anything else happens.
    Every call carries an idempotency key of the account and month: a retry gets Stripe's first
    answer back, never a second invoice, item or charge."""
    key, metadata = f"clew-usage-{charge.account_id}-{charge.period}", charge.metadata
    with stripe_errors("charge the usage"):
        if charge.invoice_id:
            invoice = await api.v1.invoices.retrieve_async(charge.invoice_id)
        else:
            invoice = await api.v1.invoices.create_async(params={
                "customer": charge.customer_id, "currency": "usd", "collection_method": "charge_automatically",
                "auto_advance": False, "pending_invoice_items_behavior": "exclude",
                "description": charge.description, "metadata": metadata},
                options={"idempotency_key": f"{key}-invoice"})
            await remember(invoice.id)
        if invoice.status != "draft":
            return invoice.id  # finalized by an earlier attempt: Stripe has it
        if not invoice.total:
            await api.v1.invoice_items.create_async(params={
                "customer": charge.customer_id, "invoice": invoice.id, "amount": charge.cents, "currency": "usd",
                "description": charge.description, "period": charge.service_period, "metadata": metadata},
                options={"idempotency_key": f"{key}-item"})
        await api.v1.invoices.finalize_invoice_async(invoice.id, params={"auto_advance": True},
                                                     options={"idempotency_key": f"{key}-finalize"})
    return invoice.id
