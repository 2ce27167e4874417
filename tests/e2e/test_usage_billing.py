"""Metered usage charged at Stripe (the stand-in), through the control plane's background charger:
a closed month of a metered tier is charged once, for exactly the invoice's amount due, also when
Stripe's answers get lost or a run is repeated after Stripe took the charge.

The seed's tiers all include usage, so these tests run a gateway of their own (one per backend,
on PostgreSQL with a schema and Redis prefix of its own, so the shared gateway's charger never
sees its invoices) with a metered tier and a charger that runs every second, right after a month
ends.
"""
import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
import sqlalchemy as sa
import stripe
import yaml

from control_plane.billing.usage_charges import charge_due
from schemas.database import create_engine
from schemas.tables import billing_accounts, invoices
from tests.conftest import POSTGRES_URL, REDIS_URL, _delete_prefix, _drop_schema, _require_services
from tests.e2e.billing import charged_in, standin_charges
from tests.e2e.chat import account_on_tier, chat
from tests.e2e.reports import month_start
from tests.support.api import call
from tests.support.ledger import insert_usage
from tests.support.stack import ROOT, Backend, start_gateway

METERED = {"price_usd_month": "0", "requests_per_minute": 100, "monthly_tokens": None, "usage_billing": "metered"}
# A month of usage over three models: $1.237067891, charged as $1.24 (half a cent rounds up).
MONTH_OF_USAGE = ((1000, 10, 1_234_567_891, "deepseek-v4", "deepseek", 0), (5, 5, 2_500_000, "gpt-5.5", "openai", 20),
                  (7, 0, 0, "deepseek-v4", "deepseek", 27))


def _own_backend(shared: Backend) -> Backend:
    if shared.name == "embedded":
        return shared  # SQLite lives in the gateway's home: already its own
    _require_services()
    run = uuid.uuid4().hex[:12]
    return Backend("postgres", POSTGRES_URL, f"clew_test_{run}", REDIS_URL, f"clewtest:{run}:")


@pytest.fixture(scope="module")
def own(backend, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"metered-{backend.name}")
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    config["tiers"]["payg"] = METERED
    config["billing"].update(usage_report_interval_seconds=1, usage_report_delay_seconds=0)
    config_path = home / "metered-gateway.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    mine = _own_backend(backend)
    gateway = start_gateway(mine, home, {"CLEW_CONFIG": str(config_path)})
    yield gateway
    gateway.stop()
    if mine is not backend:
        asyncio.run(_drop_schema(mine.schema))
        _delete_prefix(mine.redis_prefix)


@pytest.fixture
async def own_db(own):
    engine = create_engine(own.database_url, own.backend.schema)
    yield engine
    await engine.dispose()


@pytest.fixture
async def stripe_api(own):
    async with aiohttp.ClientSession() as session:
        yield stripe.StripeClient(own.secrets["STRIPE_SECRET_KEY"], base_addresses={"api": own.stripe_url},
                                  http_client=stripe.AIOHTTPClient(session=session), max_network_retries=0)


async def _a_month_of_usage(db, account_id: str) -> str:
    """Last month's usage in the ledger; its period."""
    start = month_start(datetime.now(UTC), 1)
    for prompt, completion, cost, model, provider, day in MONTH_OF_USAGE:
        await insert_usage(db, account_id, prompt, completion, cost_nanos=cost, model=model, provider=provider,
                           created_at=start + timedelta(days=day))
    return start.strftime("%Y-%m")


async def _charged(db, account_id: str, period: str, timeout: float = 30.0):
    """The invoice row once the charger recorded its usage charge."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = sa.select(invoices).where(invoices.c.account_id == account_id, invoices.c.period == period)
    while True:
        async with db.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is not None and row.usage_charged_at is not None:
            return row
        assert loop.time() < deadline, f"{period} of {account_id} not charged after {timeout} s: {row}"
        await asyncio.sleep(0.2)


async def _customer(db, account_id: str) -> str:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(billing_accounts.c.stripe_customer_id)
                                   .where(billing_accounts.c.account_id == account_id))).scalar_one()


async def _invoice(client, gateway, account, period: str) -> dict:
    status, body, _ = await call(client, "GET", f"{gateway.url}/v1/billing/invoices", headers=account.bearer)
    assert status == 200, body
    return next(invoice for invoice in body["data"] if invoice["period"] == period)


async def test_a_metered_month_is_charged_once_for_its_amount_due(client, own, own_db):
    account = await account_on_tier(client, own, own_db, "payg")
    period = await _a_month_of_usage(own_db, account.id)
    headers = {**account.bearer, "x-sim-prompt-tokens": "100", "x-sim-completion-tokens": "10"}
    assert (await chat(client, own.url, headers, model="deepseek-v4"))[0] == 200  # this month: not charged yet
    row = await _charged(own_db, account.id, period)
    invoice = await _invoice(client, own, account, period)
    assert (invoice["status"], invoice["tier"], invoice["usage_billing"], invoice["subscription_usd"],
            invoice["usage_usd"], invoice["amount_due_usd"], invoice["total_usd"]) == (
        "final", "payg", "metered", "0", "1.237067891", "1.24", "1.24")
    charges = await standin_charges(client, own, await _customer(own_db, account.id))
    assert [(c["amount"], c["invoice"], c["metadata"]) for c in charges] == [
        (124, row.stripe_usage_invoice_id, {"account_id": account.id, "period": period})]
    assert charged_in(charges, period) == Decimal(invoice["amount_due_usd"])
    draft = await _invoice(client, own, account, datetime.now(UTC).strftime("%Y-%m"))
    assert draft["usage_billing"] == "metered" and Decimal(draft["usage_usd"]) > 0


@pytest.mark.parametrize("lost", ["/v1/invoices", "/v1/invoiceitems", "/v1/invoices/*/finalize"])
async def test_a_charge_whose_answers_are_lost_is_retried_into_one_charge(client, own, own_db, stripe_api, lost):
    # Every attempt the SDK makes within one run (max_network_retries=2) loses its answer after
    # Stripe acted on it: the run fails, and a later run must finish the same charge.
    status, _, _ = await call(client, "POST", f"{own.stripe_url}/_standin/faults", json={"path": lost, "times": 3})
    assert status == 200
    account = await account_on_tier(client, own, own_db, "payg")
    period = await _a_month_of_usage(own_db, account.id)
    row = await _charged(own_db, account.id, period)
    _, left, _ = await call(client, "GET", f"{own.stripe_url}/_standin/faults")
    assert left == {"faults": []}  # all three answers were lost
    customer = await _customer(own_db, account.id)
    made = await stripe_api.v1.invoices.list_async(params={"customer": customer})
    assert [(i.id, i.status, [line.amount for line in i.lines.data]) for i in made.data] == [
        (row.stripe_usage_invoice_id, "paid", [124])]
    invoice = await _invoice(client, own, account, period)
    assert charged_in(await standin_charges(client, own, customer), period) == Decimal(invoice["amount_due_usd"])


async def test_a_run_repeated_after_stripe_charged_but_before_we_recorded_charges_nothing_more(
        client, own, own_db, stripe_api):
    account = await account_on_tier(client, own, own_db, "payg")
    period = await _a_month_of_usage(own_db, account.id)
    row = await _charged(own_db, account.id, period)
    customer = await _customer(own_db, account.id)
    # As if the control plane had died right after Stripe took the charge: nothing of it recorded
    # but the amount. Then the charger runs again (here, and the gateway's own loop meanwhile).
    async with own_db.begin() as conn:
        await conn.execute(sa.update(invoices).where(invoices.c.id == row.id)
                           .values(stripe_usage_invoice_id=None, usage_charged_at=None))
    await charge_due(own_db, stripe_api, datetime.now(UTC).strftime("%Y-%m"))
    again = await _charged(own_db, account.id, period)
    assert again.stripe_usage_invoice_id == row.stripe_usage_invoice_id
    assert [c["amount"] for c in await standin_charges(client, own, customer)] == [124]
