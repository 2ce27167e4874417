"""Listing and deleting rows the caller owns: API keys, provider keys, webhooks.

These resources are listed and deleted alike: only the caller's own rows are ever read or touched, and an id
that belongs to another account is answered exactly like one that does not exist (404), so ids reveal nothing.
Keeping that shape here leaves each route module with only what is its own: its store, view and messages.
"""
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.services import services


async def list_response(request: web.Request, rows_of: Callable[[AsyncConnection, str], Awaitable[list]],
                        view: Callable[..., dict]) -> web.Response:
    """The caller's rows, as `rows_of(conn, account_id)` finds them, in an OpenAI-style list."""
    identity = require_identity(request)
    async with services(request).engine.connect() as conn:
        rows = await rows_of(conn, identity.account_id)
    return web.json_response({"object": "list", "data": [view(row._mapping) for row in rows]})


async def delete_owned(request: web.Request, name: str, delete: Callable[[AsyncConnection, str, str], Awaitable[bool]],
                       missing: str, code: str) -> str:
    """Delete the caller's row named by path parameter `name` and return that name's value.

    `delete(conn, account_id, value)` is False when the caller has no such row: a 404 whose message is
    `missing` formatted with the value.
    """
    identity = require_identity(request)
    value = request.match_info[name]
    async with services(request).engine.begin() as conn:
        if not await delete(conn, identity.account_id, value):
            raise ApiError(404, missing.format(value), code)
    return value
