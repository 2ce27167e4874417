"""GET /v1/keys, POST /v1/keys, DELETE /v1/keys/{id}."""
from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.keys import store
from control_plane.owned import delete_owned, list_response
from control_plane.requests import read_json, string_field
from control_plane.services import services
from schemas.credentials import DEFAULT_SCOPE, KEY_SCOPES, MANAGEMENT_SCOPE

routes = web.RouteTableDef()
MAX_ACTIVE_KEYS = 50


def key_view(row) -> dict:
    return {"id": row["id"], "object": "api_key", "name": row["name"],
            "masked": f"{row['prefix']}...{row['last4']}", "prefix": row["prefix"], "last4": row["last4"],
            "scope": row["scope"], "created_at": clock.iso(row["created_at"])}


def _scope(body: dict, identity) -> str:
    scope = string_field(body, "scope", required=False, max_length=20, default=DEFAULT_SCOPE)
    if scope not in KEY_SCOPES:
        raise ApiError(400, f"Unknown scope '{scope}'; choose one of: {', '.join(KEY_SCOPES)}", "invalid_value",
                       "scope")
    # A key that could mint management keys would let a leaked one outlive its own revocation.
    if scope == MANAGEMENT_SCOPE and identity.method != "session":
        raise ApiError(403, "Only a session (log in) can create a key with the 'management' scope",
                       "insufficient_scope", "scope")
    return scope


@routes.get("/v1/keys")
async def list_keys(request: web.Request) -> web.Response:
    return await list_response(request, store.active_keys, key_view)


@routes.post("/v1/keys")
async def create_key(request: web.Request) -> web.Response:
    identity = require_identity(request)
    body = await read_json(request) if request.body_exists else {}
    name = string_field(body, "name", required=False, max_length=100, default="default").strip() or "default"
    scope = _scope(body, identity)
    async with services(request).engine.begin() as conn:
        if await store.count_active(conn, identity.account_id) >= MAX_ACTIVE_KEYS:
            raise ApiError(409, f"An account can hold at most {MAX_ACTIVE_KEYS} active keys; revoke one first",
                           "key_limit_reached")
        row, key = await store.create_key(conn, identity.account_id, name, scope)
    # The only time the full key is ever shown.
    return web.json_response({**key_view(row), "key": key}, status=201)


@routes.delete("/v1/keys/{key_id}")
async def revoke_key(request: web.Request) -> web.Response:
    key_id = await delete_owned(request, "key_id", store.revoke_key, "No API key with id '{}'", "key_not_found")
    return web.json_response({"id": key_id, "object": "api_key", "revoked": True})
