"""POST /v1/telemetry/ping, /event and /batch (anonymous, limited per IP), GET /v1/telemetry/stats
(administrators and enterprise accounts)."""
import sqlalchemy as sa
from aiohttp import web

from control_plane import clock
from control_plane.errors import ApiError
from control_plane.identity import require_identity
from control_plane.ip_limits import LIMITER, address_hash, client_address
from control_plane.requests import read_json
from control_plane.services import services
from control_plane.telemetry import store, validation
from control_plane.telemetry.stats import fleet_stats
from schemas.tables import accounts

routes = web.RouteTableDef()


async def _admit(request: web.Request) -> tuple[str, dict]:
    """The caller's address hash and rate-limit headers, or 429 once its minute's requests are spent."""
    ip_hash = address_hash(services(request).settings.internal_secret, client_address(request))
    verdict = await request.app[LIMITER].hit(ip_hash, services(request).config.telemetry["per_ip_per_minute"])
    if not verdict.allowed:
        raise ApiError(429, f"Too many telemetry requests from your address; retry in {verdict.retry_after} s",
                       "rate_limit_exceeded", headers=verdict.headers())
    return ip_hash, verdict.headers()


async def _body(request: web.Request) -> dict:
    limit = services(request).config.telemetry["max_body_bytes"]
    if (request.content_length or 0) > limit or len(await request.read()) > limit:
        raise ApiError(413, f"Telemetry request bodies are limited to {limit} bytes", "request_too_large")
    return await read_json(request)


@routes.post("/v1/telemetry/ping")
async def ping(request: web.Request) -> web.Response:
    ip_hash, headers = await _admit(request)
    heartbeat, now = validation.ping(await _body(request)), clock.now()
    async with services(request).engine.begin() as conn:
        await store.record_ping(conn, heartbeat, ip_hash, now)
    return web.json_response({"object": "telemetry.ping", "instance_id": heartbeat["instance_id"],
                              "received_at": clock.iso(now)}, headers=headers)


@routes.post("/v1/telemetry/event")
async def event(request: web.Request) -> web.Response:
    ip_hash, headers = await _admit(request)
    body, now = await _body(request), clock.now()
    row = validation.event(body, "", services(request).config.telemetry, now)
    async with services(request).engine.begin() as conn:
        await store.record_events(conn, [row], ip_hash)
    return web.json_response({"object": "telemetry.accepted", "accepted": 1}, status=202, headers=headers)


@routes.post("/v1/telemetry/batch")
async def batch(request: web.Request) -> web.Response:
    ip_hash, headers = await _admit(request)
    body, now = await _body(request), clock.now()
    rows = validation.batch(body, services(request).config.telemetry, now)
    async with services(request).engine.begin() as conn:
        await store.record_events(conn, rows, ip_hash)
    return web.json_response({"object": "telemetry.accepted", "accepted": len(rows)}, status=202, headers=headers)


@routes.get("/v1/telemetry/stats")
async def stats(request: web.Request) -> web.Response:
    identity = require_identity(request)
    async with services(request).engine.connect() as conn:
        # The forwarded identity carries the tier but not the admin flag: the account row has both.
        account = (await conn.execute(sa.select(accounts.c.tier, accounts.c.is_admin)
                                      .where(accounts.c.id == identity.account_id))).first()
        if account is None or not (account.is_admin or account.tier == "enterprise"):
            raise ApiError(403, "Telemetry statistics are available to administrators and enterprise accounts",
                           "permission_denied")
        return web.json_response(await fleet_stats(conn))
