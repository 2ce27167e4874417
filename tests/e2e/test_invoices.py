"""GET /v1/billing/invoices through Envoy: one invoice per month, derived from the ledger."""
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from schemas.pricing import format_usd
from schemas.tables import invoices as invoice_rows
from schemas.tables import tier_changes
from tests.e2e.billing import charged_in, standin_charges, subscribe
from tests.e2e.chat import account_on_tier, chat
from tests.e2e.reports import landed, ledger_sums, month_start
from tests.support.api import call, new_account
from tests.support.ledger import insert_usage


async def _invoices(client, base: str, account) -> list[dict]:
    status, body, _ = await call(client, "GET", f"{base}/v1/billing/invoices", headers=account.bearer)
    assert status == 200, body
    return body["data"]


def _period(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


async def test_invoices_without_credentials_is_401(client, base):
    status, body, _ = await call(client, "GET", f"{base}/v1/billing/invoices")
    assert status == 401 and "error" in body


async def test_a_new_account_has_one_draft_invoice_for_this_month(client, base):
    account = await new_account(client, base)
    [draft] = await _invoices(client, base, account)
    now = datetime.now(UTC)
    assert {k: draft[k] for k in ("id", "status", "period", "tier", "usage_billing", "subscription_usd", "usage_usd",
                                  "amount_due_usd", "lines", "total_usd")} == {
        "id": None, "status": "draft", "period": _period(now), "tier": "free", "usage_billing": "included",
        "subscription_usd": "0", "usage_usd": "0", "amount_due_usd": "0", "lines": [], "total_usd": "0"}
    assert draft["period_start"] == month_start(now).isoformat().replace("+00:00", "Z")


async def test_the_draft_agrees_with_the_ledger_for_real_completions(client, gateway, db):
    account = await new_account(client, gateway.url)
    for model, prompt, completion in (("deepseek-v4", 1234, 567), ("gpt-5.5", 99, 1), ("deepseek-v4", 1, 1)):
        headers = {**account.bearer, "x-sim-prompt-tokens": str(prompt), "x-sim-completion-tokens": str(completion)}
        assert (await chat(client, gateway.url, headers, model=model))[0] == 200
    await landed(db, account.id, 3)
    [draft] = await _invoices(client, gateway.url, account)
    for line in draft["lines"]:
        sums = await ledger_sums(db, account.id, model=line["model"])
        assert (line["requests"], line["prompt_tokens"], line["completion_tokens"], line["total_tokens"],
                Decimal(line["cost_usd"]) * 10**9) == (sums["requests"], sums["prompt_tokens"],
                                                       sums["completion_tokens"], sums["total_tokens"],
                                                       sums["cost_nanos"])
    assert [line["model"] for line in draft["lines"]] == ["deepseek-v4", "gpt-5.5"]
    assert draft["usage"]["cost_usd"] == draft["usage_usd"] == format_usd(
        (await ledger_sums(db, account.id))["cost_nanos"])
    assert draft["amount_due_usd"] == draft["total_usd"] == "0"  # the free tier's usage is included


async def test_past_months_are_final_zero_filled_and_match_the_ledger_to_the_nano_dollar(client, gateway, db):
    account = await new_account(client, gateway.url)
    now = datetime.now(UTC)
    this, last, two_ago = month_start(now), month_start(now, 1), month_start(now, 2)
    await insert_usage(db, account.id, 1_000_001, 3, cost_nanos=1_500_000_001, model="gpt-5.5", provider="openai",
                       created_at=two_ago)
    await insert_usage(db, account.id, 7, 7, cost_nanos=7, model="deepseek-v4", created_at=two_ago + timedelta(days=9))
    await insert_usage(db, account.id, 1, 1, cost_nanos=11, model="deepseek-v4", created_at=this)
    current, previous, oldest = await _invoices(client, gateway.url, account)
    assert [(i["period"], i["status"]) for i in (current, previous, oldest)] == [
        (_period(this), "draft"), (_period(last), "final"), (_period(two_ago), "final")]
    assert previous["lines"] == [] and previous["usage_usd"] == "0" and previous["usage"]["requests"] == 0
    assert [(line["model"], line["requests"]) for line in oldest["lines"]] == [("deepseek-v4", 1), ("gpt-5.5", 1)]
    assert oldest["usage_usd"] == format_usd((await ledger_sums(db, account.id, two_ago, last))["cost_nanos"]) \
        == "1.500000008"
    assert current["usage_usd"] == "0.000000011"
    assert {i["amount_due_usd"] for i in (current, previous, oldest)} == {"0"}


async def test_a_month_boundary_splits_usage_at_the_first_instant(client, gateway, db):
    account = await new_account(client, gateway.url)
    start = month_start(datetime.now(UTC))
    await insert_usage(db, account.id, 5, cost_nanos=5, created_at=start - timedelta(microseconds=1))
    await insert_usage(db, account.id, 3, cost_nanos=3, created_at=start)
    current, previous = await _invoices(client, gateway.url, account)
    assert (current["usage"]["total_tokens"], previous["usage"]["total_tokens"]) == (3, 5)


async def test_a_closed_month_is_finalized_once(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, 10, created_at=month_start(datetime.now(UTC), 1))
    first = await _invoices(client, gateway.url, account)
    again = await _invoices(client, gateway.url, account)
    assert first[1]["id"].startswith("inv_") and first[1]["id"] == again[1]["id"]
    assert first[1]["finalized_at"] == again[1]["finalized_at"]
    async with db.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).where(invoice_rows.c.account_id == account.id))).scalar()
    assert count == 1  # the draft is never stored


async def test_a_paid_tiers_invoice_shows_usage_apart_and_owes_the_subscription(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await insert_usage(db, account.id, 10, cost_nanos=250_000_000)
    [draft] = await _invoices(client, gateway.url, account)
    assert (draft["tier"], draft["usage_billing"], draft["subscription_usd"], draft["usage_usd"],
            draft["amount_due_usd"], draft["total_usd"]) == ("pro", "included", "10", "0.25", "10", "10")


async def test_an_included_tier_owes_what_stripe_charged_and_no_usage_charge(client, gateway):
    account = await new_account(client, gateway.url)
    paid = await subscribe(client, gateway, account, "pro")
    for tokens in (1000, 2000):
        headers = {**account.bearer, "x-sim-prompt-tokens": str(tokens), "x-sim-completion-tokens": "10"}
        assert (await chat(client, gateway.url, headers, model="gpt-5.5"))[0] == 200
    [draft] = await _invoices(client, gateway.url, account)
    charges = await standin_charges(client, gateway, paid["event"]["data"]["object"]["customer"])
    assert [c["amount"] for c in charges] == [1000]  # the subscription's first period, nothing for usage
    assert Decimal(draft["usage_usd"]) > 0 and draft["tier"] == "pro"
    assert Decimal(draft["amount_due_usd"]) == charged_in(charges, _period(datetime.now(UTC))) == Decimal("10")


async def test_a_month_is_billed_at_the_highest_tier_held_during_it(client, gateway, db):
    account = await new_account(client, gateway.url)
    await subscribe(client, gateway, account, "enterprise")  # now, in this month
    last = month_start(datetime.now(UTC), 1)
    async with db.begin() as conn:  # and two weeks on pro last month, before that
        await conn.execute(sa.insert(tier_changes).values(
            id=f"tierchg_{uuid.uuid4().hex}", account_id=account.id, from_tier="free", to_tier="pro",
            reason="test", changed_at=last + timedelta(days=14)))
    await insert_usage(db, account.id, 1, created_at=last)
    current, previous = await _invoices(client, gateway.url, account)
    assert (current["tier"], current["subscription_usd"]) == ("enterprise", "100")
    assert (previous["tier"], previous["subscription_usd"], previous["total_usd"]) == ("pro", "10", "10")


async def test_another_accounts_usage_is_never_invoiced(client, gateway, db):
    owner, other = await new_account(client, gateway.url), await new_account(client, gateway.url)
    await insert_usage(db, owner.id, 10, cost_nanos=10)
    await insert_usage(db, owner.id, 10, cost_nanos=10, created_at=month_start(datetime.now(UTC), 1))
    [draft] = await _invoices(client, gateway.url, other)
    assert draft["lines"] == [] and draft["total_usd"] == "0"
