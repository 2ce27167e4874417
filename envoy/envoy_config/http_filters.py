"""The HTTP filter chain every request passes: ext_authz, ext_proc, router.

Client `x-clew-*` headers are gone before any of them runs: the connection manager drops them
before it picks a route (listeners.strip_client_clew_headers).
"""
from schemas.internal_api import (
    EXT_PROC_FILTER,
    REQUEST_PROCESSING_MODE,
    RESPONSE_CODE_DETAILS,
    SIDECAR_TOKEN_METADATA,
)

from .protos import type_url

EXT_AUTHZ = "envoy.filters.http.ext_authz"
EXT_PROC = EXT_PROC_FILTER
SIDECAR_CLUSTER = "sidecar"


def http_filters(sidecar_token: str) -> list[dict]:
    return [ext_authz_filter(sidecar_token), ext_proc_filter(sidecar_token), router_filter()]


def sidecar_grpc_service(sidecar_token: str, metadata: dict[str, str] | None = None, **options) -> dict:
    """The sidecar as a filter's gRPC service: every call carries the token it demands (plugins.grpc_guard)."""
    headers = {SIDECAR_TOKEN_METADATA: sidecar_token, **(metadata or {})}
    return {"envoy_grpc": {"cluster_name": SIDECAR_CLUSTER},
            "initial_metadata": [{"key": k, "value": v} for k, v in headers.items()], **options}


def ext_authz_filter(sidecar_token: str) -> dict:
    # On for every route unless the route turns it off: a new route is authenticated by default.
    return {"name": EXT_AUTHZ, "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"),
        "transport_api_version": "V3",
        "grpc_service": sidecar_grpc_service(sidecar_token, timeout="1s"),
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},
    }}


def ext_proc_filter(sidecar_token: str) -> dict:
    # The request side always goes to the sidecar: headers to authenticate and limit, the buffered
    # body to route (ARCHITECTURE.md §3). The response body mode is chosen per response.
    return {"name": EXT_PROC, "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"),
        "grpc_service": sidecar_grpc_service(sidecar_token),
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},  # the sidecar failing is ours, and passing: 503
        "message_timeout": "5s",
        "allow_mode_override": True,
        "processing_mode": REQUEST_PROCESSING_MODE,
        # Tells upstream responses from Envoy's own replies, which are never metered.
        "response_attributes": [RESPONSE_CODE_DETAILS],
    }}


def router_filter() -> dict:
    # No x-envoy-* timing headers to clients: they describe our internals, not their request.
    return {"name": "envoy.filters.http.router", "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.router.v3.Router"), "suppress_envoy_headers": True}}
