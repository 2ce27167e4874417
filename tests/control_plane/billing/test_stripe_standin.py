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
               await _serve(create_app(API_KEY, SECRET, f"http://127.0.0.1:{hook_port}/hook"), port)]
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
