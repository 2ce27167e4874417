"""The stand-in's HTTP server (see the package docstring for what it answers)."""
import asyncio
import html
import json
from fnmatch import fnmatch

import aiohttp
from aiohttp import web

from control_plane.billing.stripe_standin.delivery import Deliverer
from control_plane.billing.stripe_standin.forms import decode
from control_plane.billing.stripe_standin.objects import Objects, StripeApiError

OBJECTS = web.AppKey("objects", Objects)
DELIVERER = web.AppKey("deliverer", Deliverer)
CONFIG = web.AppKey("config", dict)
routes = web.RouteTableDef()


def _error(exc: StripeApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status)


def _authorized(request: web.Request) -> bool:
    return request.headers.get("Authorization", "") == f"Bearer {request.app[CONFIG]['api_key']}"


@web.middleware
async def stripe_api(request: web.Request, handler):
    """Stripe's own rules for /v1: a valid secret key, errors as JSON, POSTs replayed by Idempotency-Key."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    if not _authorized(request):
        return web.json_response({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
                                 status=401)
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    if not key:
        status, body = await _handled(request, handler)
        return _reply(request, status, body)
    return await _idempotent(request, handler, key)


async def _handled(request: web.Request, handler) -> tuple[int, dict]:
    try:
        return 200, await handler(request)
    except StripeApiError as exc:
        return exc.status, exc.body()


async def _idempotent(request: web.Request, handler, key: str) -> web.Response:
    """As Stripe does: the first answer again for the same key and request (no second object, no
    second charge), 400 for the key reused on another request, 409 while the first is in flight."""
    config, request_text = request.app[CONFIG], f"{request.path}?{await request.text()}"
    replies, in_flight = config["idempotent_replies"], config["in_flight"]
    if key in in_flight:
        return _reply(request, *StripeApiError(409, "There is currently another in-progress request using this "
                                               "Idempotent Key.", None, "idempotency_key_in_use").reply())
    if key in replies:
        first_text, status, body = replies[key]
        if first_text != request_text:
            return _reply(request, *StripeApiError(400, "Keys for idempotent requests can only be used with the "
                                                   "same parameters they were first used with.", None, None,
                                                   "idempotency_error").reply())
        return _reply(request, status, body)
    in_flight.add(key)
    try:
        status, body = await _handled(request, handler)
    finally:
        in_flight.discard(key)
    replies[key] = (request_text, status, body)
    return _reply(request, status, body)


def _reply(request: web.Request, status: int, body: dict) -> web.Response:
    """The answer, unless a fault set up by a test loses it (after the request took effect, as a
    network failure between Stripe and its client would)."""
    faults = request.app[CONFIG]["faults"]
    fault = next((f for f in faults if f["method"] == request.method and fnmatch(request.path, f["path"])), None)
    if fault is None:
        return web.json_response(body, status=status)
    fault["times"] -= 1
    if fault["times"] <= 0:
        faults.remove(fault)
    return web.json_response({"error": {"type": "api_error", "message": "The stand-in lost this answer (a fault "
                                        "a test asked for); the request itself took effect."}}, status=500)


async def _params(request: web.Request) -> dict:
    return decode(await request.text())


@routes.post("/v1/customers")
async def create_customer(request: web.Request) -> dict:
    return request.app[OBJECTS].create_customer(await _params(request))


@routes.post("/v1/checkout/sessions")
async def create_session(request: web.Request) -> dict:
    return request.app[OBJECTS].create_session(await _params(request), str(request.url.origin()))


@routes.get("/v1/checkout/sessions/{id}")
async def get_session(request: web.Request) -> dict:
    return request.app[OBJECTS].session(request.match_info["id"])


@routes.get("/v1/subscriptions/{id}")
async def get_subscription(request: web.Request) -> dict:
    return request.app[OBJECTS].subscription(request.match_info["id"])


@routes.delete("/v1/subscriptions/{id}")
async def cancel_subscription(request: web.Request) -> dict:
    subscription = request.app[OBJECTS].cancel_subscription(request.match_info["id"])
    # Stripe tells the webhook endpoint afterwards, not within the API call.
    _in_background(request.app, _send(request.app, "customer.subscription.deleted", subscription))
    return subscription


@routes.post("/v1/invoices")
async def create_invoice(request: web.Request) -> dict:
    return request.app[OBJECTS].create_invoice(await _params(request))


@routes.get("/v1/invoices")
async def list_invoices(request: web.Request) -> dict:
    return request.app[OBJECTS].list_invoices(request.query.get("customer"))


@routes.get("/v1/invoices/{id}")
async def get_invoice(request: web.Request) -> dict:
    return request.app[OBJECTS].invoice(request.match_info["id"])


@routes.post("/v1/invoices/{id}/finalize")
async def finalize_invoice(request: web.Request) -> dict:
    return request.app[OBJECTS].finalize_invoice(request.match_info["id"], await _params(request))


@routes.post("/v1/invoiceitems")
async def create_invoice_item(request: web.Request) -> dict:
    return request.app[OBJECTS].create_invoice_item(await _params(request))


def _in_background(app: web.Application, coroutine) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    app[CONFIG]["tasks"].add(task)
    task.add_done_callback(app[CONFIG]["tasks"].discard)


async def _send(app: web.Application, event_type: str, obj: dict) -> dict:
    event = app[OBJECTS].event(event_type, obj)
    return {"event": event, "delivery": await _deliver(app, event["id"])}


async def _deliver(app: web.Application, event_id: str) -> dict:
    record = app[OBJECTS].events[event_id]
    delivery = await app[DELIVERER].deliver(record["event"])
    record["deliveries"].append(delivery)
    return delivery


async def _sent(request: web.Request, event_type: str, make) -> web.Response:
    try:
        obj = make(request.app[OBJECTS])
    except StripeApiError as exc:
        return _error(exc)
    return web.json_response(await _send(request.app, event_type, obj))


@routes.get("/checkout/{id}")
async def checkout_page(request: web.Request) -> web.Response:
    try:
        session = request.app[OBJECTS].session(request.match_info["id"])
    except StripeApiError as exc:
        return _error(exc)
    ident = html.escape(session["id"])
    return web.Response(content_type="text/html", text=(
        "<!doctype html><title>Checkout (Stripe stand-in)</title>"
        f"<h1>Test checkout</h1><p>Session {ident}: a subscription for "
        f"{html.escape(json.dumps(session['metadata']))}. No card needed: this is the local stand-in.</p>"
        f"<form method=post action='/checkout/{ident}/complete?redirect=1'><button>Pay</button></form>"
        f"<p><a href='{html.escape(session['cancel_url'] or '/')}'>Cancel</a></p>"))


@routes.post("/checkout/{id}/complete")
async def complete_checkout(request: web.Request) -> web.Response:
    session_id = request.match_info["id"]
    response = await _sent(request, "checkout.session.completed", lambda o: o.complete_session(session_id))
    if request.query.get("redirect") and response.status == 200:
        success = request.app[OBJECTS].session(session_id)["success_url"]
        raise web.HTTPSeeOther(success.replace("{CHECKOUT_SESSION_ID}", session_id))
    return response


@routes.post("/_standin/subscriptions/{id}/cancel")
async def cancel_now(request: web.Request) -> web.Response:
    return await _sent(request, "customer.subscription.deleted",
                       lambda o: o.cancel_subscription(request.match_info["id"]))


@routes.post("/_standin/subscriptions/{id}/payment_failed")
async def payment_failed(request: web.Request) -> web.Response:
    amount = int(request.query.get("amount_due", "1000"))
    return await _sent(request, "invoice.payment_failed", lambda o: o.failed_invoice(request.match_info["id"], amount))


@routes.post("/_standin/events/{id}/resend")
async def resend(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    if event_id not in request.app[OBJECTS].events:
        return _error(StripeApiError(404, f"No such event: '{event_id}'", "id", "resource_missing"))
    delivery = await _deliver(request.app, event_id)
    return web.json_response({"event": request.app[OBJECTS].events[event_id]["event"], "delivery": delivery})


@routes.get("/_standin/events")
async def events(request: web.Request) -> web.Response:
    data = [{"id": ident, "type": record["event"]["type"], "deliveries": record["deliveries"]}
            for ident, record in request.app[OBJECTS].events.items()]
    return web.json_response({"object": "list", "data": data})


@routes.get("/_standin/charges")
async def charges(request: web.Request) -> web.Response:
    customer = request.query.get("customer")
    data = [c for c in request.app[OBJECTS].charges if customer is None or c["customer"] == customer]
    return web.json_response({"object": "list", "data": data})


@routes.post("/_standin/faults")
async def add_fault(request: web.Request) -> web.Response:
    """{"method": "POST", "path": "/v1/invoices/*/finalize", "times": 3}: the next `times` answers to
    matching API requests are lost (a 500) after the request took effect."""
    fault = await request.json()
    request.app[CONFIG]["faults"].append({"method": str(fault.get("method", "POST")), "path": str(fault["path"]),
                                          "times": int(fault.get("times", 1))})
    return web.json_response({"faults": request.app[CONFIG]["faults"]})


@routes.get("/_standin/faults")
async def faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[CONFIG]["faults"]})


@routes.get("/_standin/health")
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(api_key: str, webhook_secret: str, webhook_url: str, prices: dict[str, int]) -> web.Application:
    """`prices`: the unit amount (cents) of each Stripe price id Checkout may sell."""
    app = web.Application(middlewares=[stripe_api])
    app[OBJECTS] = Objects(prices)
    app[CONFIG] = {"api_key": api_key, "idempotent_replies": {}, "in_flight": set(), "faults": [], "tasks": set()}
    app.add_routes(routes)

    async def http(app: web.Application):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            app[DELIVERER] = Deliverer(session, webhook_url, webhook_secret)
            yield
            await asyncio.gather(*app[CONFIG]["tasks"], return_exceptions=True)

    app.cleanup_ctx.append(http)
    return app
