"""Envoy's RouteConfiguration from the route table, with each route's auth filter switched on."""
from schemas.gateway import GatewayConfig
from schemas.internal_api import PROVIDER_HEADER, ROUTE_TOKEN_HEADER
from schemas.upstreams import Upstream

from . import routers
from .http_filters import EXT_AUTHZ, EXT_PROC
from .protos import type_url
from .routes import Route, route_table

ROUTE_CONFIG_NAME = "clew"


def route_configuration(config: GatewayConfig, upstreams: dict[str, Upstream], route_token: str) -> dict:
    """`route_token`: what the sidecar sets beside `x-clew-provider` (schemas.internal_api.route_token)."""
    table = route_table(upstreams, config.upstream["timeout_seconds"], config.routers)
    return {"name": ROUTE_CONFIG_NAME, "virtual_hosts": [{
        "name": "clew", "domains": ["*"], "routes": [route_entry(r, route_token) for r in table]}]}


def route_entry(route: Route, route_token: str) -> dict:
    key = "path" if route.exact else "prefix"
    match = {key: route.prefix_or_path}
    action = {"cluster": route.cluster, "timeout": route.timeout}
    if route.provider:
        # Reachable only through the sidecar's decision: its provider header and its token.
        match["headers"] = [{"name": PROVIDER_HEADER, "string_match": {"exact": route.provider}},
                            {"name": ROUTE_TOKEN_HEADER, "string_match": {"exact": route_token}}]
    if route.when_header:
        match["headers"] = [{"name": route.when_header, "present_match": True}]
    if route.host:
        action["host_rewrite_literal"] = route.host
    if route.attempts > 1:
        action["retry_policy"] = routers.retry_policy(route.attempts)
    name = f"provider:{route.provider}" if route.provider else route.prefix_or_path
    entry = {"name": f"{name} with {route.when_header}" if route.when_header else name,
             "match": match, "route": action, "typed_per_filter_config": _filters_for(route.kind)}
    if route.remove_headers:
        entry["request_headers_to_remove"] = list(route.remove_headers)
    return entry


def _filters_for(kind: str) -> dict:
    """Each route turns off the auth filter that is not its own."""
    disabled = {}
    if kind != "management":
        disabled[EXT_AUTHZ] = {"@type": type_url("envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"),
                               "disabled": True}
    if kind != "ai":
        disabled[EXT_PROC] = {"@type": type_url("envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute"),
                              "disabled": True}
    return disabled
