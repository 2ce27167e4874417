"""The request as its provider wants it, and the answer as the client wants it: what the chat router,
the routers' fallback and the image and video plugins share.

Each names its route in `x-clew-provider` (Envoy re-picks the route from it), sends the request's JSON
compact with its new length, and drops the client's credential; `pool_headers` are the provider's
`:path` and the pool key.
"""
import json

from plugins.context import RequestContext
from schemas.upstreams import Upstream

PROVIDER_HEADER = "x-clew-provider"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def pool_headers(upstream: Upstream, path: str) -> dict[str, str]:
    return {":path": path, "authorization": f"Bearer {upstream.api_key}"}


def route_to(ctx: RequestContext, route: str, payload: dict | None = None,
             headers: dict[str, str] | None = None) -> None:
    """Send the request down `route` with `headers` set and `payload` as its JSON body (None: no body)."""
    mutation = ctx.mutation
    mutation.set_headers.update({PROVIDER_HEADER: route, **(headers or {})})
    if payload is not None:
        body = encode(payload)
        mutation.body = body
        mutation.set_headers["content-length"] = str(len(body))
    mutation.remove_headers.append("x-api-key")
    mutation.clear_route_cache = True


def send(ctx: RequestContext, upstream: Upstream, path: str, payload: dict | None = None) -> None:
    """Route an image or video request to `upstream` at `path`; its answer is read and rewritten here,
    so it is asked for uncompressed."""
    route_to(ctx, upstream.provider, payload, pool_headers(upstream, path))
    if payload is not None:
        # Clients (curl -d) may not say it is JSON; the provider must know.
        ctx.mutation.set_headers["content-type"] = "application/json"
    ctx.mutation.remove_headers.append("accept-encoding")


def reply(ctx: RequestContext, payload: dict) -> None:
    """Replace the (buffered) response body with `payload`."""
    body = encode(payload)
    ctx.mutation.body = body
    ctx.mutation.set_headers["content-length"] = str(len(body))
