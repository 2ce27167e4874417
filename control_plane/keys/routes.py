"""GET /v1/keys, POST /v1/keys, PATCH /v1/keys/{id}, DELETE /v1/keys/{id}.

A key may carry limits of its own (control_plane.keys.limits), enforced by the sidecar on top of the
account's: the models it may call, a monthly budget, requests per minute and an expiry. The list shows
them with each key's last use and this month's usage, from one grouped query over the ledger.
"""
from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.keys import limits, store
from control_plane.owned import delete_owned
from control_plane.requests import read_json
from control_plane.services import services
from control_plane.usage import report
from control_plane.usage.periods import month_bounds, month_name
from schemas.credentials import DEFAULT_SCOPE, KEY_SCOPES, MANAGEMENT_SCOPE

routes = web.RouteTableDef()
MAX_ACTIVE_KEYS = 50
MANAGEMENT_BY_SESSION = ("Only a session (log in) can create a key with the 'management' scope, grant it, "
                         "or change a management key")


def key_view(row, usage: report.Totals | None = None) -> dict:
    last_used = row["last_used_at"]
    now = clock.now()
    return {"id": row["id"], "object": "api_key", "name": row["name"],
            "masked": f"{row['prefix']}...{row['last4']}", "prefix": row["prefix"], "last4": row["last4"],
            "scope": row["scope"], "created_at": clock.iso(row["created_at"]), **limits.view(row),
            "last_used_at": None if last_used is None else clock.iso(last_used),
            "usage": {"period": month_name(now), **(usage or report.Totals()).view()}}


def _scope(value, identity) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "Invalid type for 'scope': expected a string", "invalid_type", "scope")
    if value not in KEY_SCOPES:
        raise ApiError(400, f"Unknown scope '{value[:20]}'; choose one of: {', '.join(KEY_SCOPES)}", "invalid_value",
                       "scope")
    # A key that could mint management keys would let a leaked one outlive its own revocation.
    if value == MANAGEMENT_SCOPE and identity.method != "session":
        raise ApiError(403, MANAGEMENT_BY_SESSION, "insufficient_scope", "scope")
    return value


async def _usage_by_key(conn, account_id: str) -> dict[str, report.Totals]:
    return await report.by_key(conn, account_id, *month_bounds(clock.now()))


@routes.get("/v1/keys")
async def list_keys(request: web.Request) -> web.Response:
    identity = require_identity(request)
    async with services(request).engine.connect() as conn:
        rows = await store.active_keys(conn, identity.account_id)
        usage = await _usage_by_key(conn, identity.account_id)
    return web.json_response({"object": "list", "data": [key_view(r._mapping, usage.get(r.id)) for r in rows]})


@routes.post("/v1/keys")
async def create_key(request: web.Request) -> web.Response:
    identity = require_identity(request)
    body = await read_json(request, exact_numbers=True) if request.body_exists else {}
    limits.check_fields(body)
    name = limits.name(body["name"]) if body.get("name") is not None else "default"
    scope = _scope(body["scope"], identity) if body.get("scope") is not None else DEFAULT_SCOPE
    columns = limits.columns(body, services(request).config, identity.tier)
    async with services(request).engine.begin() as conn:
        if await store.count_active(conn, identity.account_id) >= MAX_ACTIVE_KEYS:
            raise ApiError(409, f"An account can hold at most {MAX_ACTIVE_KEYS} active keys; revoke one first",
                           "key_limit_reached")
        row, key = await store.create_key(conn, identity.account_id, name, scope, columns)
    # The only time the full key is ever shown.
    return web.json_response({**key_view(row), "key": key}, status=201)


def _changes(body: dict, identity, current, config) -> dict:
    """The api_keys columns `body` changes, checked; 403 for what only a session may do."""
    if not body:
        raise ApiError(400, f"Nothing to change: send one or more of {', '.join(limits.FIELDS)}", "missing_parameter")
    values = limits.columns(body, config, identity.tier)
    if "name" in body:
        values["name"] = limits.name(body["name"])
    if "scope" in body:
        values["scope"] = _scope(body["scope"], identity)
    # Changing a management key (its expiry, its scope...) is as powerful as creating one.
    if current.scope == MANAGEMENT_SCOPE and identity.method != "session":
        raise ApiError(403, MANAGEMENT_BY_SESSION, "insufficient_scope")
    return values


@routes.patch("/v1/keys/{key_id}")
async def update_key(request: web.Request) -> web.Response:
    identity = require_identity(request)
    key_id = request.match_info["key_id"]
    body = await read_json(request, exact_numbers=True)
    limits.check_fields(body)
    missing = ApiError(404, f"No API key with id '{key_id[:64]}'", "key_not_found")
    async with services(request).engine.begin() as conn:
        current = await store.active_key(conn, identity.account_id, key_id)
        if current is None:
            raise missing
        values = _changes(body, identity, current, services(request).config)
        changed = {**current._mapping, **values}
        event = {"id": key_id, "changed": sorted(body), "name": changed["name"], "scope": changed["scope"],
                 **limits.view(changed)}
        if not await store.update_key(conn, identity.account_id, key_id, values, event):
            raise missing  # revoked meanwhile
        usage = (await _usage_by_key(conn, identity.account_id)).get(key_id)
    return web.json_response(key_view(changed, usage))


@routes.delete("/v1/keys/{key_id}")
async def revoke_key(request: web.Request) -> web.Response:
    key_id = await delete_owned(request, "key_id", store.revoke_key, "No API key with id '{}'", "key_not_found")
    return web.json_response({"id": key_id, "object": "api_key", "revoked": True})
