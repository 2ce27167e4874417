"""Routers (clew/free, clew/ocr): pick the candidates that are not cooling down, let Envoy try them
in order, and fit each attempt to the candidate Envoy chose.

Downstream (once per request) the plugin checks the request, drops candidates whose provider
answered 429 recently and names the subset in `x-clew-provider`; the route for that subset
retries across an aggregate cluster. Upstream (once per attempt, see `Attempt`) the model, path,
host and credential are rewritten for the candidate — the account's own key for that provider when
it stored one (BYOK) — a 429 to a pool key starts that provider's cool-down, and the response says
which model served and with whose key, so it is billed by that.
"""
import base64
import binascii
import json
import logging
import math
from collections.abc import Callable

from plugins import translators
from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.cooldowns import retry_after_seconds
from plugins.key_limits import check_model
from plugins.provider_call import encode, pool_headers, route_to
from schemas.internal_api import ACCOUNT_HEADER as ACCOUNT
from schemas.internal_api import KEY_SOURCE_HEADER as KEY_SOURCE
from schemas.internal_api import SERVED_BY_HEADER as SERVED_BY
from schemas.internal_api import router_header_value
from schemas.sealed_keys import SealBroken

log = logging.getLogger(__name__)


def _image_urls(request: dict) -> list[str]:
    return [part.get("image_url", {}).get("url", "") for message in request["messages"]
            if isinstance(message.get("content"), list)
            for part in message["content"] if isinstance(part, dict) and part.get("type") == "image_url"]


def _check_images(name: str, spec: dict, request: dict) -> None:
    urls = _image_urls(request)
    if spec.get("requires_image") and not urls:
        raise Reject(400, f"{name} reads text from images: add an image_url part (an https URL or a "
                          "data: URL with base64) to a user message.", "image_required", param="messages",
                     reason="invalid_request")
    for url in urls:
        _check_image_url(url, spec.get("max_image_bytes"))


def _check_image_url(url: str, limit: int | None) -> None:
    if url.startswith("https://"):
        return
    if not url.startswith("data:") or ";base64," not in url:
        raise Reject(400, "image_url must be an https URL or a data: URL with base64 content", "invalid_image_url",
                     param="messages", reason="invalid_request")
    encoded = url.split(";base64,", 1)[1]
    size = len(encoded) * 3 // 4
    if limit and size > limit:
        raise Reject(413, f"The image is {size:,} bytes; the limit is {limit:,}", "image_too_large",
                     param="messages", reason="image_too_large")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Reject(400, "The image's base64 content is not valid", "invalid_image_url", param="messages",
                     reason="invalid_request") from None


class FallbackPlugin(Plugin):
    name = "fallback"
    priority = 810  # before the router: requests for a router never reach it

    def __init__(self, cooldowns, parse: Callable[[bytes], dict]):
        self.cooldowns = cooldowns
        self.parse = parse  # the endpoint's request body, checked as its API does

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        try:
            request = self.parse(body)
        except Reject:
            return  # the router answers malformed bodies
        runtime = ctx.runtime
        spec = runtime.config.routers.get(request.get("model"))
        if spec is None:
            ctx.state.client_request = request  # not a router's: the router plugin takes it as parsed here
            return
        name = request["model"]
        check_model(ctx, name)  # the router's own name: its candidates come with it (plugins.key_limits)
        candidates = [runtime.models[m] for m in spec["candidates"]]
        stream, wants_usage, request = self._translate(ctx, request, candidates[0])
        _check_images(name, spec, request)
        cooling = await self.cooldowns.remaining(sorted({c.provider for c in candidates}))
        mask = sum(1 << i for i, c in enumerate(candidates) if c.provider not in cooling)
        if not mask:
            raise _all_limited(name, min(cooling.values()))
        if spec.get("instruction"):
            request["messages"] = [{"role": "system", "content": spec["instruction"]}, *request["messages"]]
        first = candidates[(mask & -mask).bit_length() - 1]
        # Each attempt names its own candidate's model (Attempt.request_body); the rest is the first's.
        request["model"] = first.upstream_model
        ctx.state.update(request=request, model=first, router=name, stream=stream, key_source="pool",
                         client_wants_usage=wants_usage, routed=True)
        route_to(ctx, router_header_value(name, mask), request, {ACCOUNT: ctx.identity.account_id})
        ctx.mutation.remove_headers.append("authorization")  # each attempt sets its candidate's key

    @staticmethod
    def _translate(ctx: RequestContext, request: dict, candidate) -> tuple[bool, bool, dict]:
        """The provider's (chat) request, from the endpoint's client API: the candidates all speak it."""
        options = request.get("stream_options")
        # Asked before the gateway asks upstream for usage (always): the usage chunk is the client's only if it asked.
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True
        ctx.translator = translators.for_provider(ctx.endpoint.client_api, ctx.runtime, candidate).for_request(request)
        request = ctx.translator.request(request, candidate)
        stream = request.get("stream") is True
        return stream, stream and wants_usage, request

    async def on_response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        # Every candidate Envoy tried was limited: answer with the soonest any of them frees up.
        state = ctx.state
        if state.router and state.status == 429 and state.via_upstream:
            spec = ctx.runtime.config.routers[state.router]
            providers = sorted({ctx.runtime.models[m].provider for m in spec["candidates"]})
            cooling = await self.cooldowns.remaining(providers)
            raise _all_limited(state.router, min(cooling.values(), default=1))


def _all_limited(name: str, seconds: float) -> Reject:
    wait = max(1, math.ceil(seconds))
    return Reject(429, f"Every model behind {name} is rate limited right now; try again in {wait}s.",
                  "rate_limit_exceeded", {"retry-after": str(wait)}, type_="requests", reason="router_limited")


class Attempt:
    """One attempt of a routed request, on the candidate whose model Envoy's endpoint names."""

    def __init__(self, runtime, cooldowns, keys, model_name: str):
        self.runtime, self.cooldowns, self.keys = runtime.current, cooldowns, keys
        self.model = self.runtime.models[model_name]
        self.upstream = self.runtime.upstreams[self.model.provider]
        self.byok = False

    async def request_headers(self, headers: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """The headers to set for this candidate, and those to remove."""
        own_key = await self._own_key(headers.get(ACCOUNT, ""))
        self.byok = own_key is not None
        set_headers = {**pool_headers(self.upstream, self.upstream.path("chat")), ":authority": self.upstream.authority}
        if own_key is not None:
            set_headers["authorization"] = f"Bearer {own_key}"
        return set_headers, [ACCOUNT]

    async def _own_key(self, account_id: str) -> str | None:
        if not account_id:
            return None
        try:
            return await self.keys.key(account_id, self.model.provider)
        except SealBroken:  # logged; this attempt goes on the pool's key rather than fail the request
            log.error("the stored %s key of account %s cannot be decrypted (CLEW_BYOK_KEY changed?)",
                      self.model.provider, account_id)
            return None

    def request_body(self, body: bytes) -> bytes:
        request = json.loads(body)
        request["model"] = self.model.upstream_model
        return encode(request)

    async def response_headers(self, status: int, headers: dict) -> dict[str, str]:
        if status == 429 and not self.byok:  # the account's own key being limited says nothing of the pool's
            await self.cooldowns.cool(self.model.provider, retry_after_seconds(headers))
        # Both always set: a provider's own header of the same name must not survive to the bill.
        return {SERVED_BY: self.model.name, KEY_SOURCE: "byok" if self.byok else "pool"}
