"""Billing in the dashboard: upgrading through the Stripe stand-in's Checkout and its signed
webhook, downgrading, and the invoices with their lines, usage and amount due."""
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from schemas.tables import invoices as invoice_rows
from tests.e2e.billing import tier_of
from tests.e2e.chat import account_on_tier
from tests.e2e.reports import month_start
from tests.support.api import new_account
from tests.support.ledger import insert_usage


async def test_upgrade_goes_to_stripe_checkout_and_the_page_shows_the_new_tier_after_the_webhook(dash, client,
                                                                                                 gateway, db):
    account = await new_account(client, gateway.url)
    await dash.sign_in(account, "/app/billing")
    await dash.page.get_by_role("button", name="Upgrade to Pro").click()
    await dash.page.wait_for_url(f"{gateway.stripe_url}/checkout/cs_test_*")
    assert await tier_of(db, account.id) == "free"  # nothing changes until Stripe says it is paid
    # The stand-in's Pay button completes the session, sends the signed checkout.session.completed
    # through Envoy, then returns to the success URL, as Stripe does.
    await dash.page.get_by_role("button", name="Pay").click()
    await dash.page.wait_for_url(dash.url("/app/billing"))  # the page dropped Stripe's query string
    await dash.loaded()
    assert await dash.page.locator("#current-tier").inner_text() == "Pro"
    assert "you are now on Pro" in await dash.page.locator(".billing-status").inner_text()
    assert await dash.page.locator(".tier[aria-current=true] h3").inner_text() == "Pro"
    assert await tier_of(db, account.id) == "pro"
    await dash.screenshot("billing-after-upgrade")
    await dash.open("/app/")
    assert "100 requests/min" in await dash.page.locator("#tier-limits").inner_text()


async def test_cancelling_checkout_says_the_plan_is_unchanged(dash, client, gateway):
    await dash.sign_in(await new_account(client, gateway.url), "/app/billing")
    await dash.page.get_by_role("button", name="Upgrade to Enterprise").click()
    await dash.page.wait_for_url(f"{gateway.stripe_url}/checkout/cs_test_*")
    await dash.page.get_by_role("link", name="Cancel").click()
    await dash.page.wait_for_url(dash.url("/app/billing"))
    await dash.loaded()
    assert "cancelled; your plan is unchanged" in await dash.page.locator(".billing-status").inner_text()
    assert await dash.page.locator("#current-tier").inner_text() == "Free"


async def test_downgrading_to_free_asks_first_then_shows_the_free_tier(dash, client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await dash.sign_in(account, "/app/billing")
    await dash.page.get_by_role("button", name="Downgrade to Free").click()
    await dash.confirm("Downgrade to Free")
    await dash.page.get_by_text("You are now on Free.").wait_for()
    await dash.loaded()
    assert await dash.page.locator("#current-tier").inner_text() == "Free"
    assert await tier_of(db, account.id) == "free"


async def test_invoices_list_each_months_lines_newest_first(dash, client, gateway, db):
    account = await new_account(client, gateway.url)
    now = datetime.now(UTC)
    await insert_usage(db, account.id, 1000, 500, cost_nanos=1_250_000, model="deepseek-v4")
    await insert_usage(db, account.id, 300, 200, cost_nanos=1_800_000, model="mistral/large", provider="mistral")
    await insert_usage(db, account.id, 40, 2, cost_nanos=7, created_at=month_start(now) - timedelta(hours=1))
    await dash.sign_in(account, "/app/billing")
    invoices = dash.page.locator("article.invoice")
    this_month, last_month = now.strftime("%Y-%m"), (month_start(now) - timedelta(days=1)).strftime("%Y-%m")
    assert [await i.get_attribute("data-period") for i in await invoices.all()] == [this_month, last_month]
    current = invoices.first
    assert "Draft" in await current.locator("h3").inner_text()
    lines = [await row.inner_text() for row in await current.locator("table.lines tbody tr").all()]
    assert len(lines) == 2 and "deepseek-v4" in lines[0] and "1,500" in lines[0] and "$0.00125" in lines[0]
    assert "mistral/large" in lines[1] and "$0.0018" in lines[1]
    usage, due = current.locator(".amounts .usage"), current.locator(".amounts .amount-due")
    assert "Usage (included in plan)" in await usage.inner_text() and "$0.00305" in await usage.inner_text()
    assert await due.inner_text() == "Amount due so far\n$0.00"  # a free plan includes its usage
    assert "Final" in await invoices.last.locator("h3").inner_text()
    assert "42" in await invoices.last.locator("table.lines").inner_text()
    await dash.screenshot("billing-invoices")


async def test_each_invoice_shows_amount_due_and_usage_apart_included_or_billed(dash, client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    now = datetime.now(UTC)
    last = month_start(now, 1)
    await insert_usage(db, account.id, 100, 10, cost_nanos=250_000_000)
    await insert_usage(db, account.id, 1000, 10, cost_nanos=1_237_067_891, created_at=last)
    async with db.begin() as conn:  # last month was closed on terms that billed usage, and charged
        await conn.execute(sa.insert(invoice_rows).values(
            id=f"inv_{uuid.uuid4().hex}", account_id=account.id, period=last.strftime("%Y-%m"), tier="pro",
            subscription_nanos=10 * 10**9, finalized_at=now, usage_billing="metered", usage_charge_cents=124,
            usage_charged_at=now))
    await dash.sign_in(account, "/app/billing")
    current, previous = await dash.page.locator("article.invoice").all()
    amounts = [await invoice.locator(".amounts").inner_text() for invoice in (current, previous)]
    assert "Subscription\n$10.00" in amounts[0] and "Usage (included in plan)\n$0.25" in amounts[0]
    assert "Amount due so far\n$10.00" in amounts[0]
    assert "Usage (billed)\n$1.237068" in amounts[1] and "Amount due\n$11.24" in amounts[1]
    assert "Usage included" in await dash.page.locator(".tier[aria-current=true]").inner_text()
    await dash.screenshot("billing-amount-due-and-usage")
