"""The client-facing HTTP and HTTPS listeners and the connection manager both run."""
from pathlib import Path

from schemas.gateway import GatewayConfig
from schemas.internal_api import CLIENT_HEADER_PREFIX, sidecar_token
from schemas.settings import Settings

from .access_log import log_requests
from .http_filters import http_filters
from .local_replies import local_reply_config
from .protos import address, type_url
from .tls import resolve_tls_paths


def listeners(config: GatewayConfig, settings: Settings, routes: dict) -> list[dict]:
    """`routes` is the HCM's route source: {"rds": ...} or {"route_config": ...}."""
    limit, filters = buffer_limit(config), http_filters(sidecar_token(settings.internal_secret))
    http = _listener("http", settings.listen_address, settings.http_port, limit, routes, filters)
    https = _listener("https", settings.listen_address, settings.https_port, limit, routes, filters)
    https["filter_chains"][0]["transport_socket"] = tls_transport_socket(*resolve_tls_paths(config, settings))
    for listener in (http, https):
        log_requests(listener["filter_chains"][0]["filters"][0]["typed_config"], settings)
    return [http, https]


def buffer_limit(config: GatewayConfig) -> int:
    # Envoy answers 413 when a buffering filter (ext_proc holds AI request bodies whole) holds more
    # than this; leave room for headers and framing.
    largest = max(config.max_request_body_bytes, config.upstream["max_request_body_bytes"])
    return largest + 64 * 1024


def _listener(name: str, host: str, port: int, limit: int, routes: dict, filters: list[dict]) -> dict:
    return {
        "name": name,
        "address": address(host, port),
        "per_connection_buffer_limit_bytes": limit,
        "filter_chains": [{"filters": [http_connection_manager(name, routes, filters)]}],
    }


def tls_transport_socket(cert: Path, key: Path) -> dict:
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": type_url("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
        "common_tls_context": {
            "tls_certificates": [{"certificate_chain": {"filename": str(cert)},
                                  "private_key": {"filename": str(key)}}],
            "alpn_protocols": ["h2", "http/1.1"],
        },
    }}


def http_connection_manager(stat_prefix: str, routes: dict, filters: list[dict]) -> dict:
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": type_url("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
        "stat_prefix": stat_prefix,
        "codec_type": "AUTO",
        "use_remote_address": True,
        # Route matching sees the path the control plane will see: no `/v1//keys` or `%2F` detours
        # around the authenticated prefixes.
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        # `x_clew_user` would slip past the x-clew- strip, and some frameworks read it as x-clew-user.
        "common_http_protocol_options": {"headers_with_underscores_action": "DROP_HEADER"},
        "early_header_mutation_extensions": [strip_client_clew_headers()],
        "http_filters": filters,
        "local_reply_config": local_reply_config(),
        **routes,
    }}


def strip_client_clew_headers() -> dict:
    """Drop every client `x-clew-*` header before the route is picked, so that no client header can
    choose a route (the provider routes match on `x-clew-provider`), reach a filter or the control
    plane as the gateway's own. A header_mutation *filter* would run after route selection: too late,
    and redundant with this, so there is none."""
    return {"name": "envoy.http.early_header_mutation.header_mutation", "typed_config": {
        "@type": type_url("envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation"),
        "mutations": [{"remove_on_match": {"key_matcher": {"prefix": CLIENT_HEADER_PREFIX}}}],
    }}
