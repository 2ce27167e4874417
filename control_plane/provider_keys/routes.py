"""POST /v1/provider-keys, GET /v1/provider-keys, DELETE /v1/provider-keys/{provider}.

The caller's own provider keys (bring your own key). A key is accepted once and never shown,
returned or logged again: responses carry only its masked form.
"""
import functools
import logging

from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.owned import delete_owned, list_response
from control_plane.provider_keys import store
from control_plane.requests import read_json, string_field
from control_plane.services import services
from schemas.sealed_keys import KeySealer, sealer_from

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_KEY_LENGTH = 500


def provider_key_view(row) -> dict:
    # ASCII mask, like API keys' and webhook secrets'.
    return {"id": row["id"], "object": "provider_key", "provider": row["provider"], "masked": f"...{row['last4']}",
            "last4": row["last4"], "created_at": clock.iso(row["created_at"])}


@functools.cache
def _sealer_for(encoded_key: str) -> KeySealer | None:
    return sealer_from(encoded_key)


def _sealer(request: web.Request) -> KeySealer:
    try:
        sealer = _sealer_for(services(request).settings.byok_key)
    except ValueError as exc:
        log.error("bring-your-own-key is unavailable: %s", exc)
        sealer = None
    if sealer is None:
        raise ApiError(503, "Bring-your-own-key is not enabled on this gateway", "byok_not_configured")
    return sealer


def _provider_field(request: web.Request, body: dict) -> str:
    provider = string_field(body, "provider", max_length=100)
    known = services(request).config.providers
    if provider not in known:
        raise ApiError(400, f"Unknown provider '{provider}'; one of: {', '.join(sorted(known))}",
                       "invalid_value", "provider")
    return provider


def _key_field(body: dict) -> str:
    """The key, trimmed; it goes into an HTTP header, so only visible ASCII is accepted."""
    key = string_field(body, "key", max_length=MAX_KEY_LENGTH).strip()
    if not key:
        raise ApiError(400, "'key' must not be empty", "invalid_value", "key")
    if not all("!" <= ch <= "~" for ch in key):
        raise ApiError(400, "'key' may contain only visible ASCII characters (no spaces or line breaks)",
                       "invalid_value", "key")
    return key


@routes.get("/v1/provider-keys")
async def list_provider_keys(request: web.Request) -> web.Response:
    return await list_response(request, store.account_keys, provider_key_view)


@routes.post("/v1/provider-keys")
async def put_provider_key(request: web.Request) -> web.Response:
    identity = require_identity(request)
    body = await read_json(request)
    provider, key = _provider_field(request, body), _key_field(body)
    sealer = _sealer(request)
    async with services(request).engine.begin() as conn:
        row = await store.put_key(conn, sealer, identity.account_id, provider, key)
    return web.json_response(provider_key_view(row), status=201)


@routes.delete("/v1/provider-keys/{provider}")
async def delete_provider_key(request: web.Request) -> web.Response:
    # The path segment is any text the caller sends; echo back no more than a provider name's length.
    provider = await delete_owned(request, "provider", store.delete_key, "No provider key for '{:.100}'",
                                  "provider_key_not_found")
    return web.json_response({"provider": provider, "object": "provider_key", "deleted": True})
