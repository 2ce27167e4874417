"""The gateway's route table as data: which paths go where, and which filter guards each.

Three kinds of route:
- "management": ext_authz authenticates and the control plane gets a signed identity;
- "ai": ext_proc runs the plugin chain, which names the provider in `x-clew-provider`, sets the
  provider's `:path` and makes Envoy pick the route again; that second match lands on the
  provider's route, which matches on that header and on the route token (schemas.internal_api)
  whatever the path. Clients cannot send either: Envoy drops their `x-clew-*` headers before routing;
- "public": no auth filter (signup, login, models, ... and unknown paths, answered with a JSON 404);
  the model list is authenticated when the caller sends credentials (IDENTIFIED_ROUTES).

Order matters: Envoy takes the first match, so specific routes come before the catch-all.
"""
from dataclasses import dataclass, field

from schemas.internal_api import (
    AI_ENDPOINTS,
    PROVIDER_HEADER,
    ROUTE_TOKEN_HEADER,
    provider_cluster,
    router_cluster,
    router_header_value,
)
from schemas.upstreams import Upstream

from .routers import masks

CONTROL_PLANE = "control_plane"
# Where the AI endpoints are (schemas.internal_api.AI_ENDPOINTS, which the sidecar picks its chains by).
AI_PATHS = tuple(path for endpoint in AI_ENDPOINTS for path in endpoint.paths)
AI_PREFIXES = tuple(prefix for endpoint in AI_ENDPOINTS for prefix in endpoint.prefixes)


@dataclass(frozen=True)
class Route:
    prefix_or_path: str
    exact: bool = False
    kind: str = "public"  # "management", "ai" or "public"
    cluster: str = CONTROL_PLANE
    timeout: str = "30s"
    provider: str = ""          # provider and router routes: the x-clew-provider value this route answers
    host: str = ""              # provider routes: the provider's Host header
    attempts: int = 1           # router routes: one attempt per candidate
    remove_headers: tuple = field(default=())
    when_header: str = ""       # matches only requests that carry this header


# Prefix matches on purpose: a path that merely starts like a management route (`/v1/keysX`) needs
# a caller too, so a routing slip fails closed (401) instead of open.
MANAGEMENT_ROUTES = [
    Route("/v1/auth/me", kind="management"),
    Route("/v1/keys", kind="management"),
    Route("/v1/usage", kind="management"),
    Route("/v1/requests", kind="management"),
    Route("/v1/billing/checkout", kind="management"),
    Route("/v1/billing/invoices", kind="management"),
    Route("/v1/billing/spend_cap", kind="management"),
    Route("/v1/webhooks", kind="management"),
    Route("/v1/telemetry/stats", kind="management"),
    Route("/v1/provider-keys", kind="management"),
]

# The model list is public, but a caller that sends credentials is authenticated like on a management
# route, so that the list is the one its key may use (an API key's allowed_models); a bad credential is
# a 401 as anywhere else. Without credentials the request stays on the public catch-all.
IDENTIFIED_ROUTES = [Route("/v1/models", kind="management", when_header=header)
                     for header in ("authorization", "x-api-key")]

PUBLIC_CATCH_ALL = Route("/")
ROUTING_HEADERS = (PROVIDER_HEADER, ROUTE_TOKEN_HEADER)  # the sidecar's decision; no provider sees it


def provider_routes(upstreams: dict[str, Upstream], timeout_seconds: int) -> list[Route]:
    """One route per provider, chosen by the sidecar's header whatever the path (the sidecar set
    the provider's path). First in the table: no other route may catch a re-routed request."""
    return [Route("/", kind="ai", cluster=provider_cluster(name), timeout=f"{timeout_seconds}s",
                  provider=name, host=upstream.authority, remove_headers=ROUTING_HEADERS)
            for name, upstream in upstreams.items()]


def router_routes(routers: dict, timeout_seconds: int) -> list[Route]:
    """One route per subset of a router's candidates, chosen by the sidecar's header."""
    return [Route("/", kind="ai", cluster=router_cluster(name, mask), timeout=f"{timeout_seconds}s",
                  provider=router_header_value(name, mask), remove_headers=ROUTING_HEADERS, attempts=mask.bit_count())
            for name, spec in routers.items() for mask in masks(spec)]


def route_table(upstreams: dict[str, Upstream] | None = None, timeout_seconds: int = 120,
                routers: dict | None = None) -> list[Route]:
    """Every route in match order. The AI paths are where requests first land, before any provider
    is known; ext_proc runs there."""
    return [*provider_routes(upstreams or {}, timeout_seconds), *router_routes(routers or {}, timeout_seconds),
            *MANAGEMENT_ROUTES, *IDENTIFIED_ROUTES,
            *(Route(path, exact=True, kind="ai") for path in AI_PATHS),
            *(Route(prefix, kind="ai") for prefix in AI_PREFIXES), PUBLIC_CATCH_ALL]
