"""Plugins and the chain that runs them in priority order.

A plugin is one module with a `Plugin` subclass: a `name`, a `priority` (higher runs first) and
the phase hooks it implements. Hooks read and annotate the RequestContext, ask for changes through
`ctx.mutation`, and raise Reject to stop the request.
"""
from plugins.context import RequestContext

PHASES = ("on_request_headers", "on_request_body", "on_response_headers", "on_response_body", "on_complete")


class Plugin:
    name = "plugin"
    priority = 0

    async def on_request_headers(self, ctx: RequestContext) -> None:
        """Authenticate, limit, decide; raise Reject to stop the request."""

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        """The whole request body (buffered): validate, route, rewrite."""

    async def on_response_headers(self, ctx: RequestContext, status: int, headers: dict[str, str],
                                  via_upstream: bool) -> None:
        """`via_upstream` is False for replies Envoy made up itself (no route, connect failure...)."""

    async def on_response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        """A response body chunk (the whole body when buffered); replace it via ctx.mutation.body."""

    async def on_complete(self, ctx: RequestContext) -> None:
        """After the last byte, or when the exchange ended early; never raises to the client."""


class Chain:
    def __init__(self, plugins: list[Plugin]):
        self.plugins = sorted(plugins, key=lambda p: -p.priority)
        # Only plugins that override a hook run in its phase: the hot path skips the rest.
        self._hooks = {phase: [getattr(p, phase) for p in self.plugins
                               if getattr(type(p), phase) is not getattr(Plugin, phase)] for phase in PHASES}

    def handles(self, phase: str) -> bool:
        return bool(self._hooks[phase])

    async def request_headers(self, ctx: RequestContext) -> None:
        for hook in self._hooks["on_request_headers"]:
            await hook(ctx)

    async def request_body(self, ctx: RequestContext, body: bytes) -> None:
        for hook in self._hooks["on_request_body"]:
            await hook(ctx, body)

    async def response_headers(self, ctx: RequestContext, status: int, headers: dict, via_upstream: bool) -> None:
        for hook in self._hooks["on_response_headers"]:
            await hook(ctx, status, headers, via_upstream)

    async def response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        for hook in self._hooks["on_response_body"]:
            await hook(ctx, chunk if ctx.mutation.body is None else ctx.mutation.body, end)

    async def complete(self, ctx: RequestContext) -> None:
        for hook in self._hooks["on_complete"]:
            await hook(ctx)
