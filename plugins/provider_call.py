"""The request as its provider wants it, and the answer as the client wants it: what the chat router,
the routers' fallback and the image and video plugins share.

Each names its route in `x-clew-provider` (Envoy re-picks the route from it), sends the request's JSON
compact with its new length, and drops the client's credential; `pool_headers` are the provider's
`:path` and the pool key.
"""
import json

from plugins.context import RequestContext
from schemas.internal_api import PROVIDER_HEADER
from schemas.upstreams import Upstream


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def pool_headers(upstream: Upstream, path: str) -> dict[str, str]:
    return {":path": path, "authorization": f"Bearer {upstream.api_key}"}


def route_to(ctx: RequestContext, route: str, payload: dict | None = None,
             headers: dict[str, str] | None = None) -> None:
    """Send the request down `route` with `headers` set and `payload` as its JSON body (None: no body).

    The answer is read here (usage, cost), so it is asked for uncompressed; clients (curl -d) may
    not say that the body is JSON, and the provider must know."""
    mutation = ctx.mutation
    mutation.set_headers.update({PROVIDER_HEADER: route, **(headers or {})})
    if payload is not None:
        body = encode(payload)
        mutation.body = body
        mutation.set_headers.update({"content-length": str(len(body)), "content-type": "application/json"})
        # The body is ours now, plain JSON: a client's Content-Encoding (it parsed, so it was a lie)
        # would make the provider try to inflate it and fail with a 5xx.
        mutation.remove_headers.append("content-encoding")
    mutation.remove_headers += ["x-api-key", "accept-encoding"]
    mutation.clear_route_cache = True


def send(ctx: RequestContext, upstream: Upstream, path: str, payload: dict | None = None) -> None:
    """Route an image or video request to `upstream` at `path`."""
    route_to(ctx, upstream.provider, payload, pool_headers(upstream, path))


def reply(ctx: RequestContext, payload: dict) -> None:
    """Replace the (buffered) response body with `payload`."""
    body = encode(payload)
    ctx.mutation.body = body
    ctx.mutation.set_headers["content-length"] = str(len(body))
