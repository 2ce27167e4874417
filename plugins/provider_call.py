"""The request as its provider wants it, and the answer as the client wants it: what the image and
video plugins share with the router's way of routing.

Like the router, a plugin names the provider in `x-clew-provider`, sets the provider's `:path` and
the pool key, and makes Envoy pick the route again. The answer is read and rewritten here, so it is
asked for uncompressed.
"""
import json

from plugins.context import RequestContext
from plugins.router import PROVIDER_HEADER
from schemas.upstreams import Upstream


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def send(ctx: RequestContext, upstream: Upstream, path: str, payload: dict | None = None) -> None:
    """Route the request to `upstream` at `path`, with `payload` as its JSON body (None: no body)."""
    mutation = ctx.mutation
    mutation.set_headers.update({PROVIDER_HEADER: upstream.provider, ":path": path,
                                 "authorization": f"Bearer {upstream.api_key}"})
    if payload is not None:
        body = _encode(payload)
        mutation.body = body
        # Clients (curl -d) may not say it is JSON; the provider must know.
        mutation.set_headers.update({"content-length": str(len(body)), "content-type": "application/json"})
    mutation.remove_headers += ["x-api-key", "accept-encoding"]
    mutation.clear_route_cache = True


def reply(ctx: RequestContext, payload: dict) -> None:
    """Replace the (buffered) response body with `payload`."""
    body = _encode(payload)
    ctx.mutation.body = body
    ctx.mutation.set_headers["content-length"] = str(len(body))
