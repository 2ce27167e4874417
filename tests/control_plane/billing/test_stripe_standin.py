"""The Stripe stand-in, driven by the real `stripe` SDK: what it answers, and that its webhook
signatures are the ones the SDK verifies."""
import json

import aiohttp
import pytest
import stripe
from aiohttp import web

from control_plane.billing.stripe_standin.app import create_app
from control_plane.billing.stripe_standin.forms import decode
from control_plane.billing.stripe_standin.signing import signature_header
from tests.support.ports import free_port

API_KEY, SECRET = "sk_test_standin_unit", "whsec_standin_unit"
PRICES = {"price_pro": 1000}
ORDER = {"mode": "subscription", "line_items": [{"price": "price_pro", "quantity": 1}],
         "success_url": "http://app/ok?session={CHECKOUT_SESSION_ID}", "cancel_url": "http://app/no",
         "client_reference_id": "acct_1", "metadata": {"account_id": "acct_1", "tier": "pro"},
         "subscription_data": {"metadata": {"account_id": "acct_1", "tier": "pro"}}}


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def standin():
    """(stand-in URL, the events its webhook endpoint received, verified by the SDK)."""
    received = []

    async def endpoint(request: web.Request) -> web.Response:
        event = stripe.Webhook.construct_event(await request.read(), request.headers.get("Stripe-Signature"), SECRET)
        received.append(event.to_dict())
        return web.json_response({"received": True})

    receiver = web.Application()
    receiver.router.add_post("/hook", endpoint)
    hook_port, port = free_port(), free_port()
    runners = [await _serve(receiver, hook_port),
               await _serve(create_app(API_KEY, SECRET, f"http://127.0.0.1:{hook_port}/hook", PRICES), port)]
    yield f"http://127.0.0.1:{port}", received
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def api(standin):
    async with aiohttp.ClientSession() as session:
        yield stripe.StripeClient(API_KEY, base_addresses={"api": standin[0]}, http_client=stripe.AIOHTTPClient(
            session=session), max_network_retries=0)


def test_the_sdk_verifies_our_signature():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    assert stripe.Webhook.construct_event(payload, signature_header(payload, SECRET), SECRET).id == "evt_1"


def test_the_sdk_rejects_a_signature_made_with_another_secret():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping", "data": {"object": {}}})
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, signature_header(payload, "whsec_other"), SECRET)


def test_the_signature_is_stripes_documented_scheme():
    # https://docs.stripe.com/webhooks#verify-manually: HMAC-SHA256 of "<t>.<payload>", hex, as v1.
    assert signature_header("{}", "whsec_x", timestamp=1700000000) == stripe.WebhookSignature.generate_signature_header(
        "{}", "whsec_x", timestamp=1700000000)


def test_form_bodies_decode_into_nested_objects():
    assert decode("mode=subscription&line_items[0][price]=p&line_items[0][quantity]=1&metadata[tier]=pro"
                  "&expand[]=customer&expand[]=subscription") == {
        "mode": "subscription", "line_items": [{"price": "p", "quantity": "1"}], "metadata": {"tier": "pro"},
        "expand": ["customer", "subscription"]}


async def test_a_wrong_api_key_is_refused(standin):
    async with aiohttp.ClientSession() as session:
        wrong = stripe.StripeClient("sk_test_wrong", base_addresses={"api": standin[0]},
                                    http_client=stripe.AIOHTTPClient(session=session), max_network_retries=0)
        with pytest.raises(stripe.AuthenticationError):
            await wrong.v1.customers.create_async(params={"email": "a@example.com"})


async def test_an_idempotency_key_returns_the_first_answer(api):
    made = [await api.v1.customers.create_async(params={"email": "a@example.com"}, options={"idempotency_key": "k"})
            for _ in range(2)]
    assert made[0].id == made[1].id and made[0].id.startswith("cus_")


async def test_checkout_session_url_points_at_the_standin(api, standin):
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    session = await api.v1.checkout.sessions.create_async(params={**ORDER, "customer": customer.id})
    assert session.url == f"{standin[0]}/checkout/{session.id}" and session.status == "open"


async def test_checkout_for_an_unknown_customer_is_refused(api):
    with pytest.raises(stripe.InvalidRequestError) as error:
        await api.v1.checkout.sessions.create_async(params={**ORDER, "customer": "cus_nobody"})
    assert error.value.code == "resource_missing"


async def test_paying_sends_a_signed_checkout_completed_with_the_new_subscription(api, standin):
    url, received = standin
    session = await api.v1.checkout.sessions.create_async(params=ORDER)
    async with aiohttp.ClientSession() as http, http.post(f"{session.url}/complete") as response:
        answer = await response.json()
    assert answer["delivery"] == {"status": 200, "body": '{"received": true}'}
    [event] = received
    paid = event["data"]["object"]
    assert (event["type"], paid["payment_status"], paid["metadata"]) == (
        "checkout.session.completed", "paid", ORDER["metadata"])
    subscription = await api.v1.subscriptions.retrieve_async(paid["subscription"])
    assert subscription.status == "active" and subscription["items"]["data"][0]["price"]["id"] == "price_pro"


async def test_resending_delivers_the_same_event_id_again(api, standin):
    url, received = standin
    session = await api.v1.checkout.sessions.create_async(params=ORDER)
    async with aiohttp.ClientSession() as http:
        event = (await (await http.post(f"{session.url}/complete")).json())["event"]
        await http.post(f"{url}/_standin/events/{event['id']}/resend")
    assert [e["id"] for e in received] == [event["id"], event["id"]]


async def _charges(url: str, customer: str) -> list[dict]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/_standin/charges?customer={customer}") as response:
        return (await response.json())["data"]


async def test_a_new_subscription_pays_its_first_period_at_the_prices_amount(api, standin):
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    session = await api.v1.checkout.sessions.create_async(params={**ORDER, "customer": customer.id})
    async with aiohttp.ClientSession() as http:
        paid = (await (await http.post(f"{session.url}/complete")).json())["event"]["data"]["object"]
    subscription = await api.v1.subscriptions.retrieve_async(paid["subscription"])
    [charge] = await _charges(standin[0], customer.id)
    assert (charge["amount"], charge["invoice"]) == (1000, subscription["latest_invoice"])
    assert charge["period"]["start"] == subscription["items"]["data"][0]["current_period_start"]


async def test_checkout_of_a_price_stripe_does_not_have_is_refused(api):
    with pytest.raises(stripe.InvalidRequestError) as error:
        await api.v1.checkout.sessions.create_async(params={**ORDER, "line_items": [{"price": "price_x"}]})
    assert error.value.code == "resource_missing"


async def _usage_invoice(api, customer: str, amount: int, key: str = "") -> stripe.Invoice:
    keyed = (lambda step: {"idempotency_key": f"{key}-{step}"}) if key else (lambda step: {})
    invoice = await api.v1.invoices.create_async(params={
        "customer": customer, "currency": "usd", "auto_advance": False, "collection_method": "charge_automatically",
        "pending_invoice_items_behavior": "exclude"}, options=keyed("invoice"))
    await api.v1.invoice_items.create_async(params={
        "customer": customer, "invoice": invoice.id, "amount": amount, "currency": "usd",
        "period": {"start": 1700000000, "end": 1702592000}}, options=keyed("item"))
    return await api.v1.invoices.finalize_invoice_async(invoice.id, params={"auto_advance": True},
                                                        options=keyed("finalize"))


async def test_an_invoice_with_an_item_is_charged_once_when_finalized(api, standin):
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    invoice = await _usage_invoice(api, customer.id, 1234)
    assert (invoice.status, invoice.amount_paid, invoice.lines.data[0].amount) == ("paid", 1234, 1234)
    [charge] = await _charges(standin[0], customer.id)
    assert (charge["amount"], charge["invoice"], charge["period"]) == (1234, invoice.id,
                                                                       {"start": 1700000000, "end": 1702592000})
    with pytest.raises(stripe.InvalidRequestError):  # a second finalize charges nothing more
        await api.v1.invoices.finalize_invoice_async(invoice.id)
    assert len(await _charges(standin[0], customer.id)) == 1


async def test_the_same_idempotency_keys_again_make_nothing_new(api, standin):
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    first = await _usage_invoice(api, customer.id, 500, key="k-usage")
    again = await _usage_invoice(api, customer.id, 500, key="k-usage")
    assert first.id == again.id and len((await api.v1.invoices.list_async(params={"customer": customer.id})).data) == 1
    assert [c["amount"] for c in await _charges(standin[0], customer.id)] == [500]


async def test_a_key_reused_with_other_parameters_is_refused(api):
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    await _usage_invoice(api, customer.id, 500, key="k-reused")
    with pytest.raises(stripe.IdempotencyError):
        await _usage_invoice(api, customer.id, 501, key="k-reused")


async def test_a_lost_answer_took_effect_and_its_retry_gets_the_first_answer(api, standin):
    url, _ = standin
    customer = await api.v1.customers.create_async(params={"email": "a@example.com"})
    async with aiohttp.ClientSession() as http:
        await http.post(f"{url}/_standin/faults", json={"path": "/v1/invoices/*/finalize", "times": 1})
    with pytest.raises(stripe.APIError):
        await _usage_invoice(api, customer.id, 700, key="k-lost")
    assert [c["amount"] for c in await _charges(url, customer.id)] == [700]  # it did take effect
    retried = await _usage_invoice(api, customer.id, 700, key="k-lost")
    assert retried.status == "paid" and [c["amount"] for c in await _charges(url, customer.id)] == [700]
