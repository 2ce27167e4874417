"""The HTTP filter chain every request passes: header strip, ext_authz, ext_proc, router."""
from .protos import type_url

EXT_AUTHZ = "envoy.filters.http.ext_authz"
EXT_PROC = "envoy.filters.http.ext_proc"


def http_filters() -> list[dict]:
    return [strip_clew_headers_filter(), ext_authz_filter(), ext_proc_filter(), router_filter()]


def strip_clew_headers_filter() -> dict:
    # First, so no later filter or upstream can mistake a client's x-clew-* header for the gateway's.
    return {"name": "envoy.filters.http.header_mutation", "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"),
        "mutations": {"request_mutations": [{"remove_on_match": {"key_matcher": {"prefix": "x-clew-"}}}]},
    }}


def ext_authz_filter() -> dict:
    # On for every route unless the route turns it off: a new route is authenticated by default.
    return {"name": EXT_AUTHZ, "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"),
        "transport_api_version": "V3",
        "grpc_service": {"envoy_grpc": {"cluster_name": "sidecar"}, "timeout": "1s"},
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},
    }}


def ext_proc_filter() -> dict:
    # The request side always goes to the sidecar: headers to authenticate and limit, the buffered
    # body to route (ARCHITECTURE.md §3). The response body mode is chosen per response.
    return {"name": EXT_PROC, "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"),
        "grpc_service": {"envoy_grpc": {"cluster_name": "sidecar"}},
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},  # the sidecar failing is ours, and passing: 503
        "message_timeout": "5s",
        "allow_mode_override": True,
        "processing_mode": {"request_header_mode": "SEND", "response_header_mode": "SEND",
                            "request_body_mode": "BUFFERED", "response_body_mode": "NONE",
                            "request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP"},
        # Tells upstream responses from Envoy's own replies, which are never metered.
        "response_attributes": ["response.code_details"],
    }}


def router_filter() -> dict:
    # No x-envoy-* timing headers to clients: they describe our internals, not their request.
    return {"name": "envoy.filters.http.router", "typed_config": {
        "@type": type_url("envoy.extensions.filters.http.router.v3.Router"), "suppress_envoy_headers": True}}
