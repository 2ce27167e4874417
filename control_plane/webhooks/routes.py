"""GET /v1/webhooks, POST /v1/webhooks, DELETE /v1/webhooks/{id}: the caller's own endpoints."""
from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.owned import delete_owned, list_response
from control_plane.requests import read_json, string_field
from control_plane.services import services
from control_plane.webhooks import store
from control_plane.webhooks.events import EVENT_TYPES
from control_plane.webhooks.signing import SecretBox, masked
from control_plane.webhooks.targets import TargetRefused, check_target

routes = web.RouteTableDef()
SECRET_BOX = web.AppKey("webhook_secret_box", SecretBox)


def webhook_view(row) -> dict:
    return {"id": row["id"], "object": "webhook", "url": row["url"], "events": list(row["events"]),
            "description": row["description"], "secret_masked": masked(row["secret_last4"]),
            "created_at": clock.iso(row["created_at"])}


def events_field(body: dict) -> list[str]:
    events = body.get("events")
    if events is None:
        raise ApiError(400, "Missing required parameter: 'events'", "missing_parameter", "events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ApiError(400, "'events' must be a non-empty list of event types", "invalid_type", "events")
    unknown = sorted({e for e in events if e not in EVENT_TYPES})
    if unknown:
        raise ApiError(400, f"Unknown event type(s) {', '.join(unknown)[:200]}; known: {', '.join(EVENT_TYPES)}",
                       "invalid_value", "events")
    return list(dict.fromkeys(events))  # without repeats, in the caller's order


async def target_field(request: web.Request, body: dict) -> str:
    url = string_field(body, "url", max_length=2048)
    try:
        await check_target(url, services(request).config.webhooks["allow_private_targets"])
    except TargetRefused as exc:
        raise ApiError(400, str(exc), "invalid_url", "url") from exc
    return url


@routes.get("/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    return await list_response(request, store.active_webhooks, webhook_view)


@routes.post("/v1/webhooks")
async def create_webhook(request: web.Request) -> web.Response:
    identity = require_identity(request)
    body = await read_json(request)
    events = events_field(body)
    description = string_field(body, "description", required=False, max_length=200, default="")
    url = await target_field(request, body)
    limit = services(request).config.webhooks["max_per_account"]
    async with services(request).engine.begin() as conn:
        if await store.count_active(conn, identity.account_id) >= limit:
            raise ApiError(409, f"An account can hold at most {limit} webhooks; delete one first",
                           "webhook_limit_reached")
        row, secret = await store.create_webhook(conn, request.app[SECRET_BOX], identity.account_id, url, events,
                                                 description)
    # The only time the signing secret is ever shown.
    return web.json_response({**webhook_view(row), "secret": secret}, status=201)


@routes.delete("/v1/webhooks/{webhook_id}")
async def delete_webhook(request: web.Request) -> web.Response:
    webhook_id = await delete_owned(request, "webhook_id", store.delete_webhook, "No webhook with id '{}'",
                                    "webhook_not_found")
    return web.json_response({"id": webhook_id, "object": "webhook", "deleted": True})
