"""POST /v1/billing/checkout, POST /v1/billing/webhook (Stripe's, public) and GET /v1/billing/invoices."""
import logging

import stripe
from aiohttp import web

from control_plane.accounts import store as accounts
from control_plane.billing import checkout, stripe_api
from control_plane.billing.config import Billing, billing
from control_plane.billing.invoices import list_invoices
from control_plane.billing.metrics import WEBHOOK_EVENTS
from control_plane.billing.stripe_events import apply_event
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.requests import read_json, string_field
from control_plane.services import services
from schemas import strict_json

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


async def _account(request: web.Request):
    identity = require_identity(request)
    async with services(request).engine.connect() as conn:
        row = await accounts.find_by_id(conn, identity.account_id)
    if row is None:
        raise ApiError(401, "This account no longer exists", "account_not_found")
    return row


def _tier(body: dict, config: Billing) -> str:
    tier = string_field(body, "tier", max_length=20)
    if tier not in config.tiers:
        raise ApiError(400, f"Unknown tier '{tier}'; choose one of: {', '.join(config.tiers)}", "invalid_value", "tier")
    if config.is_paid(tier) and tier not in config.prices:
        raise ApiError(400, f"The {tier} tier cannot be bought on this gateway", "tier_not_for_sale", "tier")
    return tier


@routes.post("/v1/billing/checkout")
async def start_checkout(request: web.Request) -> web.Response:
    account = await _account(request)
    config = billing(services(request))
    tier = _tier(await read_json(request), config)
    if tier == account.tier:
        return web.json_response(checkout.unchanged(tier))
    if config.is_paid(tier):
        return web.json_response(await checkout.start_checkout(request, config, account, tier))
    return web.json_response(await checkout.downgrade(request, config, account, tier))


def _verified_event(payload: bytes, signature: str | None, secret: str) -> dict:
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        WEBHOOK_EVENTS.labels("rejected").inc()
        raise ApiError(400, "Invalid Stripe signature or payload", "invalid_signature") from exc
    # Parsed by us, not by stripe.Webhook.construct_event: signed `[]` or `"x"` must be a 400, not a crash.
    try:
        event = strict_json.loads(payload, allow_nul=False)
    except strict_json.UnreadableJson:
        event = None
    if not (isinstance(event, dict) and _short_text(event.get("id")) and _short_text(event.get("type"))):
        WEBHOOK_EVENTS.labels("rejected").inc()
        raise ApiError(400, "A Stripe event must be a JSON object with an id and a type", "invalid_event")
    return event


def _short_text(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255  # as the stripe_events table stores them


async def _cancel_replaced(app: web.Application, config: Billing, subscription_id: str) -> None:
    try:
        await stripe_api.cancel_subscription(stripe_api.client(app, config), subscription_id)
    except ApiError:
        log.warning("stripe: the replaced subscription %s is still active; cancel it in Stripe", subscription_id)


@routes.post("/v1/billing/webhook")
async def webhook(request: web.Request) -> web.Response:
    svc = services(request)
    config = billing(svc)
    if not config.webhook_secret:
        raise ApiError(503, "Billing is not configured on this gateway", "billing_unavailable")
    event = _verified_event(await request.read(), request.headers.get("Stripe-Signature"), config.webhook_secret)
    async with svc.engine.begin() as conn:
        outcome = await apply_event(conn, event, config)
    WEBHOOK_EVENTS.labels(outcome.result).inc()
    if outcome.replaced_subscription:  # after the commit: our side is right whatever Stripe answers
        await _cancel_replaced(request.app, config, outcome.replaced_subscription)
    return web.json_response({"received": True, "result": outcome.result})


@routes.get("/v1/billing/invoices")
async def invoices(request: web.Request) -> web.Response:
    account = await _account(request)
    config = billing(services(request))
    async with services(request).engine.begin() as conn:
        data = await list_invoices(conn, account, config)
    return web.json_response({"object": "list", "data": data})
