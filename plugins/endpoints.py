"""The AI endpoints: one plugin chain each, chosen by path when Envoy opens the request's stream.

Where each endpoint is (its paths) is the contract with the Envoy renderer (schemas.internal_api.AI_ENDPOINTS);
what serves it is declared here: the methods it takes, the API its clients speak (which picks the
translators, plugins.translators, and the shape of its errors) and the plugins of its own, between the
ones every endpoint runs (auth, rate limit, quota, spend, metering, request log). Plugins never test the path.

Adding an endpoint: its entry in AI_ENDPOINTS, its entry in ENDPOINTS below, and its plugins.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plugins import chat_request, json_body, translators
from plugins.auth import AuthPlugin
from plugins.byok import ByokPlugin
from plugins.chain import Chain, Plugin
from plugins.context import Reject, RequestContext
from plugins.count_tokens import CountTokensPlugin
from plugins.embeddings import EmbeddingsPlugin
from plugins.fallback import FallbackPlugin
from plugins.images import ImagesPlugin
from plugins.metering import MeteringPlugin
from plugins.quota import QuotaPlugin
from plugins.rate_limit import RateLimitPlugin
from plugins.request_log import RequestLogPlugin
from plugins.router import RouterPlugin
from plugins.spend import SpendPlugin
from plugins.video import VideoPlugin
from schemas.internal_api import AI_ENDPOINTS, AiEndpoint


@dataclass(frozen=True)
class Dependencies:
    """What the plugins are built from (plugins.server makes them once per process)."""
    identities: object      # plugins.identity_store.IdentityStore
    jwt_secret: bytes
    windows: object         # rate-limit counters
    quotas: object          # quota counters
    cooldowns: object       # providers' cool-downs after a 429
    provider_keys: object   # plugins.byok.ProviderKeys
    sink: object            # where usage events go
    video_jobs: object      # plugins.video_jobs.VideoJobs
    public_url: str
    clock: Callable
    spend: object = None    # spend counters: keys' budgets, accounts' caps (plugins.spend_store)


@dataclass(frozen=True)
class EndpointSpec:
    name: str                          # its entry in schemas.internal_api.AI_ENDPOINTS
    plugins: Callable[[Dependencies], list[Plugin]]  # its own, beside the common ones
    methods: tuple[str, ...] | None = ("POST",)      # None: its plugins judge the method (per resource)
    client_api: str | None = None      # the API its clients speak, when translated to the provider's
    counter: str = ""                  # its rate-limit counter: "" the account's one, shared by every endpoint


def _chat_like(parse: Callable[[bytes], dict]) -> Callable[[Dependencies], list[Plugin]]:
    """A chat model's endpoint, in whatever API: routers (clew/free...) with fallback, a model's provider, BYOK."""
    return lambda d: [FallbackPlugin(d.cooldowns, parse), RouterPlugin(parse), ByokPlugin(d.provider_keys)]


ENDPOINTS = (
    EndpointSpec("chat", _chat_like(chat_request.parse), client_api="openai_chat"),
    EndpointSpec("embeddings", lambda d: [EmbeddingsPlugin(), ByokPlugin(d.provider_keys)],
                 client_api="openai_embeddings"),
    EndpointSpec("images", lambda d: [ImagesPlugin()]),
    EndpointSpec("video", lambda d: [VideoPlugin(d.video_jobs, d.public_url)], methods=None),
    # Translated onto the provider's API (plugins.translators), which checks the request as its own API does.
    EndpointSpec("messages", _chat_like(json_body.parse), client_api="anthropic_messages"),
    EndpointSpec("count_tokens", lambda d: [CountTokensPlugin()], client_api="anthropic_messages",
                 counter="count_tokens"),
    EndpointSpec("responses", _chat_like(json_body.parse), client_api="openai_responses"),
)


class AllowedMethods(Plugin):
    """405 for a method the endpoint does not take; after auth and rate limits, as OpenAI answers."""
    name = "methods"
    priority = 850

    def __init__(self, methods: tuple[str, ...]):
        self.methods = methods

    async def on_request_headers(self, ctx: RequestContext) -> None:
        if ctx.method not in self.methods:
            allowed = ", ".join(self.methods)
            raise Reject(405, f"Method {ctx.method} is not allowed on {ctx.path.split('?')[0]}; use {allowed}",
                         "method_not_allowed", {"allow": allowed}, reason="method_not_allowed")


def common_plugins(deps: Dependencies, counter: str = "") -> list[Plugin]:
    return [AuthPlugin(deps.identities, deps.jwt_secret), RateLimitPlugin(deps.windows, counter),
            QuotaPlugin(deps.quotas, deps.clock), SpendPlugin(deps.spend, deps.clock), MeteringPlugin(deps.sink),
            RequestLogPlugin()]


@dataclass(frozen=True)
class Endpoint:
    where: AiEndpoint
    chain: Chain
    client_api: str | None
    error: Callable  # (status, message, code, type_, param) -> (status, body): the client API's error shape

    @property
    def name(self) -> str:
        return self.where.name


class Endpoints:
    """Every endpoint's chain, built once per process; `for_path` picks one per request."""

    def __init__(self, deps: Dependencies, specs: tuple[EndpointSpec, ...] = ENDPOINTS):
        where = {endpoint.name: endpoint for endpoint in AI_ENDPOINTS}
        self.endpoints = [self._build(spec, where[spec.name], deps) for spec in specs]

    @staticmethod
    def _build(spec: EndpointSpec, where: AiEndpoint, deps: Dependencies) -> Endpoint:
        plugins = [*common_plugins(deps, spec.counter), *spec.plugins(deps)]
        if spec.methods is not None:
            plugins.append(AllowedMethods(spec.methods))
        return Endpoint(where, Chain(plugins), spec.client_api, translators.client_error(spec.client_api))

    def for_path(self, path: str) -> Endpoint | None:
        path = path.split("?", 1)[0]
        return next((endpoint for endpoint in self.endpoints if endpoint.where.serves(path)), None)
