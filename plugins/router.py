"""The router plugin: which provider serves the request, and the request as that provider wants it.

It names the provider in `x-clew-provider` (Envoy re-picks the route from it), rewrites `model` to
the provider's name for it, swaps the client's credential for the pool key, and asks streams for
their usage so metering can price them.
"""
from plugins import chat_request
from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.model_kind import resolve
from plugins.provider_call import pool_headers, route_to

CHAT_PATH = "/v1/chat/completions"


def is_chat(ctx: RequestContext) -> bool:
    return ctx.path.split("?", 1)[0] == CHAT_PATH


class RouterPlugin(Plugin):
    name = "router"
    priority = 800

    def __init__(self, runtime):
        self.runtime = runtime

    async def on_request_headers(self, ctx: RequestContext) -> None:
        if is_chat(ctx) and ctx.method != "POST":
            raise Reject(405, f"Method {ctx.method} is not allowed on {ctx.path.split('?')[0]}; use POST",
                         "method_not_allowed", {"allow": "POST"}, reason="method_not_allowed")

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        if not is_chat(ctx) or ctx.state.get("routed"):  # a router (plugins.fallback) took it
            return
        request = chat_request.parse(body)
        runtime = self.runtime.current
        model = resolve(runtime, request["model"], "chat")  # 404 if unknown, 400 if an image or video model
        upstream = runtime.upstreams[model.provider]
        stream = request.get("stream", False)
        ctx.state.update(request=request, model=model, stream=stream, key_source="pool", client_wants_usage=(
            stream and (request.get("stream_options") or {}).get("include_usage") is True))
        request["model"] = model.upstream_model
        if stream:
            request["stream_options"] = {**(request.get("stream_options") or {}), "include_usage": True}
        route_to(ctx, model.provider, request, pool_headers(upstream, upstream.path("chat")))
