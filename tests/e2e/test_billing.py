"""Billing through Envoy: checkout at the Stripe stand-in, Stripe's signed webhooks, tier changes
reaching the data plane, downgrades."""
import time

import pytest
import sqlalchemy as sa

from schemas.tables import payment_failures, stripe_events, tier_changes
from tests.e2e.billing import (
    answered_on_tier,
    billing_row,
    checkout,
    pay,
    post_event,
    stripe_event,
    subscribe,
    tier_of,
)
from tests.e2e.chat import account_on_tier, chat
from tests.support.api import call, new_account


async def _standin(client, gateway, method: str, path: str) -> tuple[int, dict]:
    key = gateway.secrets["STRIPE_SECRET_KEY"]
    status, body, _ = await call(client, method, f"{gateway.stripe_url}{path}",
                                 headers={"Authorization": f"Bearer {key}"})
    return status, body


async def test_checkout_without_credentials_is_401(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/billing/checkout", json={"tier": "pro"})
    assert status == 401 and body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("body", [{"tier": "platinum"}, {"tier": 5}, {}, {"tier": ""}])
async def test_checkout_with_a_bad_tier_is_400(client, base, body):
    account = await new_account(client, base)
    status, answer, _ = await call(client, "POST", f"{base}/v1/billing/checkout", json=body, headers=account.bearer)
    assert status == 400 and answer["error"]["param"] == "tier"


async def test_checkout_to_the_current_tier_changes_nothing(client, base):
    account = await new_account(client, base)
    assert await checkout(client, base, account, "free") == (200, {"object": "billing.checkout",
                                                                   "action": "unchanged", "tier": "free"})


async def test_upgrade_returns_a_stripe_checkout_url_and_keeps_the_tier(client, gateway, db):
    account = await new_account(client, gateway.url)
    status, body = await checkout(client, gateway.url, account, "pro")
    assert status == 200 and body["action"] == "checkout" and body["current_tier"] == "free"
    assert body["url"] == f"{gateway.stripe_url}/checkout/{body['session_id']}"
    assert (await billing_row(db, account.id)).stripe_customer_id.startswith("cus_")
    assert await tier_of(db, account.id) == "free"  # until Stripe says it is paid


async def test_paid_checkout_reaches_the_data_plane_within_a_second(client, gateway, db):
    account = await new_account(client, gateway.url)
    _, _, before = await chat(client, gateway.url, account.bearer, model="deepseek-v4")  # cached as free
    assert (before["X-Tier"], before["x-ratelimit-limit"]) == ("free", "10")
    paid = await subscribe(client, gateway, account, "pro")
    assert paid["event"]["type"] == "checkout.session.completed" and '"applied"' in paid["delivery"]["body"]
    headers = await answered_on_tier(client, gateway.url, account, "pro", within=1.0)
    assert headers["x-ratelimit-limit"] == "100"
    row = await billing_row(db, account.id)
    assert (row.stripe_subscription_id, row.subscription_status) == (paid["event"]["data"]["object"]["subscription"],
                                                                     "active")


async def test_profile_and_usage_show_the_new_tier_and_its_quota(client, gateway):
    account = await new_account(client, gateway.url)
    await subscribe(client, gateway, account, "enterprise")
    _, me, _ = await call(client, "GET", f"{gateway.url}/v1/auth/me", headers=account.bearer)
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    assert me["tier"] == usage["tier"] == "enterprise" and usage["quota"]["monthly_tokens"] is None


async def test_a_replayed_event_changes_nothing(client, gateway, db):
    account = await new_account(client, gateway.url)
    paid = await subscribe(client, gateway, account, "pro")
    assert (await checkout(client, gateway.url, account, "free"))[1]["action"] == "changed"
    status, resent, _ = await call(client, "POST", f"{gateway.stripe_url}/_standin/events/{paid['event']['id']}/resend")
    assert status == 200 and resent["delivery"]["status"] == 200 and '"duplicate"' in resent["delivery"]["body"]
    assert await tier_of(db, account.id) == "free"
    async with db.connect() as conn:
        seen = (await conn.execute(sa.select(sa.func.count())
                                   .where(stripe_events.c.id == paid["event"]["id"]))).scalar()
    assert seen == 1


def _completed_event(account_id: str, tier: str = "enterprise") -> dict:
    return stripe_event("checkout.session.completed", {
        "id": "cs_test_forged", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
        "client_reference_id": account_id, "customer": f"cus_{account_id}", "subscription": f"sub_{account_id}",
        "metadata": {"account_id": account_id, "tier": tier}})


@pytest.mark.parametrize("signing", [
    {"secret": "whsec_not_the_gateways_secret"},
    {"header": None},
    {"header": "t=1,v1=00"},
    {"header": "garbage"},
    {"timestamp": int(time.time()) - 3600},  # signed right, but an hour old: a replay of a captured request
], ids=["wrong-secret", "unsigned", "bad-signature", "garbage-header", "stale"])
async def test_an_unverifiable_webhook_is_400_and_changes_nothing(client, gateway, db, signing):
    account = await new_account(client, gateway.url)
    status, body = await post_event(client, gateway, _completed_event(account.id), **signing)
    assert status == 400 and body["error"]["code"] == "invalid_signature"
    assert await tier_of(db, account.id) == "free"


async def test_a_correctly_signed_event_is_applied(client, gateway, db):
    """The counterpart of the forgeries above: the same event, signed with the gateway's secret."""
    account = await new_account(client, gateway.url)
    status, body = await post_event(client, gateway, _completed_event(account.id))
    assert (status, body["result"]) == (200, "applied")
    assert await tier_of(db, account.id) == "enterprise"


async def test_an_event_type_we_do_not_use_is_acknowledged(client, gateway):
    status, body = await post_event(client, gateway, stripe_event("charge.refunded", {"id": "ch_1"}))
    assert (status, body) == (200, {"received": True, "result": "ignored"})


async def test_a_deleted_subscription_brings_the_account_back_to_free(client, gateway, db):
    account = await new_account(client, gateway.url)
    paid = await subscribe(client, gateway, account, "pro")
    await answered_on_tier(client, gateway.url, account, "pro")
    subscription = paid["event"]["data"]["object"]["subscription"]
    status, deleted, _ = await call(client, "POST",
                                    f"{gateway.stripe_url}/_standin/subscriptions/{subscription}/cancel")
    assert status == 200 and deleted["event"]["type"] == "customer.subscription.deleted"
    headers = await answered_on_tier(client, gateway.url, account, "free", within=1.0)
    assert headers["x-ratelimit-limit"] == "10"
    row = await billing_row(db, account.id)
    assert (row.stripe_subscription_id, row.subscription_status) == (None, "canceled")


async def test_a_failed_payment_is_recorded(client, gateway, db):
    account = await new_account(client, gateway.url)
    paid = await subscribe(client, gateway, account, "pro")
    subscription = paid["event"]["data"]["object"]["subscription"]
    status, failed, _ = await call(client, "POST", f"{gateway.stripe_url}/_standin/subscriptions/{subscription}"
                                                   "/payment_failed", params={"amount_due": "1000"})
    assert status == 200 and failed["delivery"]["status"] == 200
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(payment_failures)
                                   .where(payment_failures.c.account_id == account.id))).all()
    invoice = failed["event"]["data"]["object"]
    assert [(r.stripe_invoice_id, r.stripe_subscription_id, r.amount_due, r.currency, r.stripe_event_id)
            for r in rows] == [(invoice["id"], subscription, 1000, "usd", failed["event"]["id"])]
    assert await tier_of(db, account.id) == "pro"  # Stripe retries the payment before giving up


async def test_downgrade_to_free_takes_effect_at_once_and_cancels_the_subscription(client, gateway, db):
    account = await new_account(client, gateway.url)
    paid = await subscribe(client, gateway, account, "pro")
    await answered_on_tier(client, gateway.url, account, "pro")
    status, body = await checkout(client, gateway.url, account, "free")
    assert (status, body) == (200, {"object": "billing.checkout", "action": "changed", "tier": "free",
                                    "previous_tier": "pro"})
    headers = await answered_on_tier(client, gateway.url, account, "free", within=1.0)
    assert headers["x-ratelimit-limit"] == "10"
    _, subscription = await _standin(client, gateway, "GET",
                                     f"/v1/subscriptions/{paid['event']['data']['object']['subscription']}")
    assert subscription["status"] == "canceled"


async def test_downgrade_without_a_subscription_needs_no_stripe(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")  # set by an operator, not bought
    status, body = await checkout(client, gateway.url, account, "free")
    assert (status, body["action"], await tier_of(db, account.id)) == (200, "changed", "free")


async def test_a_second_checkout_replaces_the_subscription(client, gateway, db):
    account = await new_account(client, gateway.url)
    first = (await subscribe(client, gateway, account, "pro"))["event"]["data"]["object"]["subscription"]
    second = (await subscribe(client, gateway, account, "enterprise"))["event"]["data"]["object"]["subscription"]
    _, replaced = await _standin(client, gateway, "GET", f"/v1/subscriptions/{first}")
    assert replaced["status"] == "canceled"
    # Its deletion event (sent by the stand-in after the cancel) names a subscription no longer ours.
    status, deleted = await post_event(client, gateway, stripe_event("customer.subscription.deleted", replaced))
    assert (status, deleted["result"]) == (200, "ignored")
    assert (await billing_row(db, account.id)).stripe_subscription_id == second
    assert await tier_of(db, account.id) == "enterprise"


async def test_each_tier_change_is_kept_in_the_history(client, gateway, db):
    account = await new_account(client, gateway.url)
    subscription = (await subscribe(client, gateway, account, "pro"))["event"]["data"]["object"]["subscription"]
    await call(client, "POST", f"{gateway.stripe_url}/_standin/subscriptions/{subscription}/cancel")
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(tier_changes.c.from_tier, tier_changes.c.to_tier, tier_changes.c.reason)
                                   .where(tier_changes.c.account_id == account.id)
                                   .order_by(tier_changes.c.changed_at))).all()
    assert [tuple(r) for r in rows] == [("free", "pro", "checkout.session.completed"),
                                        ("pro", "free", "customer.subscription.deleted")]


async def test_a_checkout_page_that_is_paid_twice_is_refused(client, gateway):
    account = await new_account(client, gateway.url)
    _, body = await checkout(client, gateway.url, account, "pro")
    await pay(client, body["url"])
    status, answer, _ = await call(client, "POST", f"{body['url']}/complete")
    assert status == 400 and answer["error"]["code"] == "session_closed"


def _subscription_event(event_type: str, subscription: str, customer: str, status: str, price: str) -> dict:
    return stripe_event(event_type, {"id": subscription, "object": "subscription", "customer": customer,
                                     "status": status, "items": {"object": "list", "data": [
                                         {"id": "si_1", "object": "subscription_item",
                                          "price": {"id": price, "object": "price"}}]}})


async def test_a_subscription_event_before_the_checkout_event_still_upgrades(client, gateway, db):
    """Stripe does not order events: customer.subscription.created may come first."""
    account = await new_account(client, gateway.url)
    await checkout(client, gateway.url, account, "pro")  # the customer exists; not paid yet
    customer = (await billing_row(db, account.id)).stripe_customer_id
    event = _subscription_event("customer.subscription.created", f"sub_{account.id}", customer, "active",
                                "price_clew_pro_monthly")
    assert (await post_event(client, gateway, event))[1]["result"] == "applied"
    assert await tier_of(db, account.id) == "pro"


async def test_past_due_keeps_the_tier_and_unpaid_ends_it(client, gateway, db):
    account = await new_account(client, gateway.url)
    paid = (await subscribe(client, gateway, account, "pro"))["event"]["data"]["object"]
    for status, tier in (("past_due", "pro"), ("unpaid", "free")):
        event = _subscription_event("customer.subscription.updated", paid["subscription"], paid["customer"], status,
                                    "price_clew_pro_monthly")
        assert (await post_event(client, gateway, event))[0] == 200
        assert (await tier_of(db, account.id),
                (await billing_row(db, account.id)).subscription_status) == (tier, status)
