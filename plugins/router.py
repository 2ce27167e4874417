"""The router plugin: which provider serves the request, and the request as that provider wants it.

It names the provider in `x-clew-provider` (Envoy re-picks the route from it), picks the translator
between the endpoint's client API and the provider's (plugins.translators), which rewrites `model` to
the provider's name for it and asks streams for their usage so metering can price them, and swaps the
client's credential for the pool key.
"""
from collections.abc import Callable

from plugins import translators
from plugins.chain import Plugin
from plugins.context import RequestContext
from plugins.model_kind import resolve
from plugins.provider_call import pool_headers, route_to


class RouterPlugin(Plugin):
    name = "router"
    priority = 800

    def __init__(self, parse: Callable[[bytes], dict]):
        self.parse = parse  # the endpoint's request body, checked as its API does (400 otherwise)

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        if ctx.state.routed:  # a router (plugins.fallback) took it
            return
        # Parsed once: the fallback plugin ran first; a body it could not parse is parsed here for its 400.
        request = ctx.state.client_request or self.parse(body)
        runtime = ctx.runtime
        model = resolve(ctx, request["model"], "chat")  # 404 if unknown, 400 if an image or video model
        translator = translators.for_provider(ctx.endpoint.client_api, runtime, model).for_request(request)
        upstream = runtime.upstreams[model.provider]
        options = request.get("stream_options")
        # Read before the translator asks upstream for usage (always): the usage chunk is the client's if it asked.
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True
        provider_request = translator.request(request, model)
        stream = provider_request.get("stream") is True
        ctx.translator = translator
        ctx.state.update(request=provider_request, model=model, stream=stream, key_source="pool",
                         client_wants_usage=stream and wants_usage)
        route_to(ctx, model.provider, provider_request, pool_headers(upstream, upstream.path("chat")))
