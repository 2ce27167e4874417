"""GET /app/...: the dashboard's page (one HTML document for every route under /app/), its
versioned assets, and /app/config.json (the published tiers and the webhook event types, which
no API endpoint lists).

Every answer carries a strict Content-Security-Policy: the page runs only our own scripts and
styles and talks only to its own origin, the gateway's public API.
"""
from aiohttp import web

from control_plane.billing.config import INCLUDED
from control_plane.dashboard.assets import CONTENT_TYPES, StaticAssets
from control_plane.errors import ApiError
from control_plane.services import services
from control_plane.webhooks.events import EVENT_TYPES

routes = web.RouteTableDef()
ASSETS = StaticAssets()
ASSETS_PATH = "/app/assets"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def _headers(cache: str) -> dict:
    return {**SECURITY_HEADERS, "Cache-Control": cache}


@routes.get("/app")
async def app_root(_request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/app/", headers=_headers(REVALIDATE))


@routes.get("/app/config.json")
async def dashboard_config(request: web.Request) -> web.Response:
    config = services(request).config
    tiers = [{"name": name, "price_usd_month": tier["price_usd_month"],
              "requests_per_minute": tier["requests_per_minute"], "monthly_tokens": tier["monthly_tokens"],
              "usage_billing": tier.get("usage_billing", INCLUDED)}
             for name, tier in config.tiers.items()]
    return web.json_response({"tiers": tiers, "webhook_events": list(EVENT_TYPES)}, headers=_headers(REVALIDATE))


@routes.get("/app/assets/{version}/{path:.+}")
async def asset(request: web.Request) -> web.Response:
    path = ASSETS.find(request.match_info["path"])
    if path is None:
        raise ApiError(404, f"Unknown request URL: GET {request.path}", "unknown_url")
    # An old version's URL (a page loaded before an update) gets today's file, uncached.
    cache = IMMUTABLE if request.match_info["version"] == ASSETS.version() else REVALIDATE
    return web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix], charset="utf-8",
                        headers=_headers(cache))


@routes.get("/app/{route:.*}")
async def page(_request: web.Request) -> web.Response:
    """The single page: the client-side router draws /app/keys, /app/billing, ... (and its own 404)."""
    html = ASSETS.index_html(f"{ASSETS_PATH}/{ASSETS.version()}")
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_headers(REVALIDATE))
