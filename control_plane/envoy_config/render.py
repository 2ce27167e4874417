"""Render Envoy's configuration from gateway.yaml and Settings.

Envoy starts from `bootstrap.yaml` and reads clusters (cds.yaml), listeners (lds.yaml) and routes
(rds.yaml) from files in a watched directory: renaming a new file into it reloads Envoy without a
restart. `write()` is the only function here that touches the disk.
"""
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from schemas.errors import error_body
from schemas.gateway import GatewayConfig
from schemas.settings import Settings
from schemas.upstreams import Upstream, resolve

from . import routers
from .routes import Route, provider_cluster, route_table
from .tls import ensure_self_signed, resolve_tls_paths

BOOTSTRAP, CDS, RDS, LDS = "bootstrap.yaml", "cds.yaml", "rds.yaml", "lds.yaml"
# Clusters before the routes that name them, routes before the listeners that use them.
WRITE_ORDER = (CDS, RDS, LDS, BOOTSTRAP)
ROUTE_CONFIG_NAME = "clew"
EXT_AUTHZ = "envoy.filters.http.ext_authz"
EXT_PROC = "envoy.filters.http.ext_proc"
# The system's CA bundle (Debian's path) for verifying providers' certificates.
CA_FILE = os.environ.get("CLEW_CA_FILE", "/etc/ssl/certs/ca-certificates.crt")
MAX_DOWNSTREAM_CONNECTIONS = 50_000


def _type(name: str) -> str:
    return f"type.googleapis.com/{name}"


def envoy_dir(settings: Settings) -> Path:
    return Path(settings.home) / "envoy"


# --- documents ---------------------------------------------------------------------------------

def render(config: GatewayConfig, settings: Settings, env: Mapping = os.environ) -> dict[str, dict]:
    """The documents Envoy runs from, keyed by file name. `env` says which providers have pool keys."""
    directory = envoy_dir(settings)
    upstreams = resolve(config, env)
    rds = {"route_config_name": ROUTE_CONFIG_NAME, "config_source": _path_source(directory, RDS)}
    return {
        BOOTSTRAP: _bootstrap(settings, {"dynamic_resources": {
            "lds_config": _path_source(directory, LDS),
            "cds_config": _path_source(directory, CDS),
        }, **ops_resources(settings)}),
        CDS: _discovery(clusters(config, settings, upstreams), "envoy.config.cluster.v3.Cluster"),
        RDS: _discovery([route_configuration(config, upstreams)], "envoy.config.route.v3.RouteConfiguration"),
        LDS: _discovery(listeners(config, settings, {"rds": rds}), "envoy.config.listener.v3.Listener"),
    }


def render_static(config: GatewayConfig, settings: Settings, env: Mapping = os.environ) -> dict:
    """The same listeners, routes and clusters inlined in one bootstrap, for `envoy --mode validate`.

    Validate mode does not read path-based dynamic resources, so this is how they get checked.
    """
    upstreams = resolve(config, env)
    inline = {"route_config": route_configuration(config, upstreams)}
    return _bootstrap(settings, {"static_resources": {
        "listeners": listeners(config, settings, inline),
        "clusters": clusters(config, settings, upstreams),
    }})


def _bootstrap(settings: Settings, resources: dict) -> dict:
    return {
        "node": {"id": "clew", "cluster": "clew"},
        # Loopback whatever listen_address says: the admin port can reconfigure and stop Envoy.
        "admin": {"address": _address("127.0.0.1", settings.admin_port)},
        "overload_manager": _connection_limit(),
        **resources,
    }


def _connection_limit() -> dict:
    # Without a cap a connection flood exhausts file descriptors (Envoy warns at startup).
    return {"resource_monitors": [{"name": "envoy.resource_monitors.global_downstream_max_connections",
                                   "typed_config": {
        "@type": _type("envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig"),
        "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS}}]}


def _path_source(directory: Path, name: str) -> dict:
    # Envoy re-reads `path` when any file is renamed into the watched directory.
    return {"resource_api_version": "V3", "path_config_source": {
        "path": str(directory / name), "watched_directory": {"path": str(directory)}}}


def _discovery(resources: list[dict], type_name: str) -> dict:
    return {"resources": [{"@type": _type(type_name), **r} for r in resources]}


def _address(host: str, port: int) -> dict:
    return {"socket_address": {"address": host, "port_value": port}}


# --- clusters ----------------------------------------------------------------------------------

def clusters(config: GatewayConfig, settings: Settings, upstreams: dict[str, Upstream]) -> list[dict]:
    connect_timeout = config.upstream["connect_timeout_seconds"]
    return [sidecar_cluster(settings), control_plane_cluster(settings),
            *(provider_cluster_config(u, connect_timeout) for u in upstreams.values()),
            *routers.candidate_clusters(config, upstreams, lambda u: provider_cluster_config(u, connect_timeout)),
            *routers.aggregate_clusters(config, routers.upstream_filters())]


def sidecar_cluster(settings: Settings) -> dict:
    cluster = _cluster("sidecar", settings.upstream_host, settings.sidecar_ports)
    # gRPC needs HTTP/2. Least-request keeps a busy sidecar process from getting more streams.
    cluster["lb_policy"] = "LEAST_REQUEST"
    # A dead sidecar process would fail every request balanced to it; set it aside for a while
    # (connection failures count as 5xx). If every process is out, Envoy's panic mode uses them all.
    cluster["outlier_detection"] = {"consecutive_5xx": 3, "interval": "1s", "base_ejection_time": "10s",
                                    "max_ejection_percent": 50}
    cluster["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": _type("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
        "explicit_http_config": {"http2_protocol_options": {}},
    }}
    return health_checked(cluster, [settings.sidecar_metrics_port + i for i in range(settings.sidecar_processes)])


def control_plane_cluster(settings: Settings) -> dict:
    cluster = _cluster("control_plane", settings.control_plane_host or settings.upstream_host,
                       [settings.control_plane_port])
    return health_checked(cluster, [settings.control_plane_metrics_port])


def provider_cluster_config(upstream: Upstream, connect_timeout: int) -> dict:
    cluster = _cluster(provider_cluster(upstream.provider), upstream.host, [upstream.port], f"{connect_timeout}s")
    if upstream.tls:
        cluster["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": _type("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
            "sni": upstream.host,
            "common_tls_context": {"validation_context": {
                "trusted_ca": {"filename": CA_FILE}, "match_typed_subject_alt_names": [
                    {"san_type": "DNS", "matcher": {"exact": upstream.host}}]}},
        }}
    return cluster


def _cluster(name: str, host: str, ports: list[int], connect_timeout: str = "1s") -> dict:
    return {
        "name": name,
        # STATIC takes only IP addresses; a service name (docker compose, k8s) needs DNS.
        "type": "STATIC" if _is_ip(host) else "STRICT_DNS",
        "connect_timeout": connect_timeout,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": _address(host, port)}} for port in ports]}]},
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- listeners ---------------------------------------------------------------------------------

def listeners(config: GatewayConfig, settings: Settings, routes: dict) -> list[dict]:
    """`routes` is the HCM's route source: {"rds": ...} or {"route_config": ...}."""
    limit = buffer_limit(config)
    http = _listener("http", settings.listen_address, settings.http_port, limit, routes)
    https = _listener("https", settings.listen_address, settings.https_port, limit, routes)
    https["filter_chains"][0]["transport_socket"] = tls_transport_socket(*resolve_tls_paths(config, settings))
    for listener in (http, https):
        log_requests(listener["filter_chains"][0]["filters"][0]["typed_config"], settings)
    return [http, https]


def buffer_limit(config: GatewayConfig) -> int:
    # Envoy answers 413 when a buffering filter (ext_proc holds AI request bodies whole) holds more
    # than this; leave room for headers and framing.
    largest = max(config.max_request_body_bytes, config.upstream["max_request_body_bytes"])
    return largest + 64 * 1024


def _listener(name: str, host: str, port: int, limit: int, routes: dict) -> dict:
    return {
        "name": name,
        "address": _address(host, port),
        "per_connection_buffer_limit_bytes": limit,
        "filter_chains": [{"filters": [http_connection_manager(name, routes)]}],
    }


def tls_transport_socket(cert: Path, key: Path) -> dict:
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": _type("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
        "common_tls_context": {
            "tls_certificates": [{"certificate_chain": {"filename": str(cert)},
                                  "private_key": {"filename": str(key)}}],
            "alpn_protocols": ["h2", "http/1.1"],
        },
    }}


def http_connection_manager(stat_prefix: str, routes: dict) -> dict:
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": _type("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
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
        "http_filters": http_filters(),
        "local_reply_config": local_reply_config(),
        **routes,
    }}


# --- http filters ------------------------------------------------------------------------------

def http_filters() -> list[dict]:
    return [strip_clew_headers_filter(), ext_authz_filter(), ext_proc_filter(), router_filter()]


def strip_clew_headers_filter() -> dict:
    # First, so no later filter or upstream can mistake a client's x-clew-* header for the gateway's.
    return {"name": "envoy.filters.http.header_mutation", "typed_config": {
        "@type": _type("envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"),
        "mutations": {"request_mutations": [{"remove_on_match": {"key_matcher": {"prefix": "x-clew-"}}}]},
    }}


def ext_authz_filter() -> dict:
    # On for every route unless the route turns it off: a new route is authenticated by default.
    return {"name": EXT_AUTHZ, "typed_config": {
        "@type": _type("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"),
        "transport_api_version": "V3",
        "grpc_service": {"envoy_grpc": {"cluster_name": "sidecar"}, "timeout": "1s"},
        "failure_mode_allow": False,
        "status_on_error": {"code": "ServiceUnavailable"},
    }}


def ext_proc_filter() -> dict:
    # The request side always goes to the sidecar: headers to authenticate and limit, the buffered
    # body to route (ARCHITECTURE.md §3). The response body mode is chosen per response.
    return {"name": EXT_PROC, "typed_config": {
        "@type": _type("envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"),
        "grpc_service": {"envoy_grpc": {"cluster_name": "sidecar"}},
        "failure_mode_allow": False,
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
        "@type": _type("envoy.extensions.filters.http.router.v3.Router"), "suppress_envoy_headers": True}}


# --- routes ------------------------------------------------------------------------------------

def route_configuration(config: GatewayConfig, upstreams: dict[str, Upstream]) -> dict:
    table = route_table(upstreams, config.upstream["timeout_seconds"], config.routers)
    return {"name": ROUTE_CONFIG_NAME, "virtual_hosts": [{
        "name": "clew", "domains": ["*"], "routes": [route_entry(r) for r in table]}]}


def route_entry(route: Route) -> dict:
    key = "path" if route.exact else "prefix"
    match = {key: route.prefix_or_path}
    action = {"cluster": route.cluster, "timeout": route.timeout}
    if route.provider:
        match["headers"] = [{"name": "x-clew-provider", "string_match": {"exact": route.provider}}]
    if route.host:
        action["host_rewrite_literal"] = route.host
    if route.attempts > 1:
        action["retry_policy"] = routers.retry_policy(route.attempts)
    entry = {"name": f"provider:{route.provider}" if route.provider else route.prefix_or_path,
             "match": match, "route": action, "typed_per_filter_config": _filters_for(route.kind)}
    if route.remove_headers:
        entry["request_headers_to_remove"] = list(route.remove_headers)
    return entry


def _filters_for(kind: str) -> dict:
    """Each route turns off the auth filter that is not its own."""
    disabled = {}
    if kind != "management":
        disabled[EXT_AUTHZ] = {"@type": _type("envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute"),
                               "disabled": True}
    if kind != "ai":
        disabled[EXT_PROC] = {"@type": _type("envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute"),
                              "disabled": True}
    return disabled


# --- local replies -----------------------------------------------------------------------------

def local_reply_config() -> dict:
    """OpenAI-shaped JSON for the replies Envoy makes up itself. First matching mapper wins."""
    return {"mappers": [
        # ext_authz could not reach the sidecar (status_on_error). Both this and a denial carry the UAEX
        # flag, and the sidecar may deny with 503 too: only the response code details tell them apart.
        _mapper(_code_details("ext_authz_error"), 503, "Authentication service unavailable",
                "auth_unavailable"),
        # The sidecar's answers (ext_authz denials; ext_proc immediate responses, whose details the
        # sidecar prefixes with "clew_"): its JSON body and headers go to the client untouched.
        _passthrough(_flags("UAEX")),
        _passthrough(_cel("response.code_details.startsWith('clew_')")),
        _mapper(_flags("NR"), 404, "Unknown request URL", "unknown_url"),
        _mapper(_flags("UT"), 504, "The upstream service timed out", "upstream_timeout"),
        _mapper(_flags("UH", "UF", "URX", "UC", "UR", "LH", "NC"), 502,
                "The upstream service could not be reached", "upstream_unavailable"),
        _mapper(_flags("UO"), 503, "The upstream service is overloaded", "upstream_overloaded"),
        _mapper(_status("EQ", 413), 413, "Request body too large", "request_too_large"),
        # Envoy's own bodies are often empty; the response code details at least say what happened.
        _mapper(_status("GE", 500), 500, "The gateway could not complete the request (%RESPONSE_CODE_DETAILS%)",
                "gateway_error", rewrite_status=False),
        _mapper(_status("GE", 0), 400, "The gateway rejected the request (%RESPONSE_CODE_DETAILS%)",
                "bad_request", rewrite_status=False),
    ]}


def _passthrough(filter_: dict) -> dict:
    return {"filter": filter_, "body_format_override": {
        "text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"}, "content_type": "application/json"}}


def _mapper(filter_: dict, status: int, message: str, code: str, rewrite_status: bool = True) -> dict:
    """`status` picks the error type; with rewrite_status it also replaces the reply's status."""
    mapper = {"filter": filter_, "body_format_override": {
        "json_format": error_body(status, message, code), "content_type": "application/json"}}
    if rewrite_status:
        mapper["status_code"] = status
    return mapper


def _flags(*flags: str) -> dict:
    return {"response_flag_filter": {"flags": list(flags)}}


def _status(op: str, code: int) -> dict:
    # runtime_key is mandatory in the proto; nothing sets it, so default_value applies.
    return {"status_code_filter": {"comparison": {"op": op, "value": {
        "default_value": code, "runtime_key": f"clew.local_reply.status_{op.lower()}_{code}"}}}}


def _code_details(details: str) -> dict:
    # Access-log filters have no code-details filter of their own; CEL reads them.
    return _cel(f"response.code_details == '{details}'")


def _cel(expression: str) -> dict:
    return {"extension_filter": {"name": "envoy.access_loggers.extension_filters.cel", "typed_config": {
        "@type": _type("envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter"),
        "expression": expression}}}


# --- disk --------------------------------------------------------------------------------------

def write(config: GatewayConfig, settings: Settings, env: Mapping = os.environ) -> Path:
    """Render into CLEW_HOME/envoy, each file atomically; returns the bootstrap's path."""
    _ensure_tls(config, settings)
    _ensure_log_directory(settings)
    directory = envoy_dir(settings)
    # Staged in a sibling directory: a rename *inside* the watched one would trigger a reload too.
    staging = directory.with_name(directory.name + ".tmp")
    directory.mkdir(parents=True, exist_ok=True)
    staging.mkdir(parents=True, exist_ok=True)
    documents = render(config, settings, env)
    for name in WRITE_ORDER:
        _replace(staging / name, directory / name, documents[name])
    return directory / BOOTSTRAP


def _ensure_tls(config: GatewayConfig, settings: Settings) -> None:
    cert, key = resolve_tls_paths(config, settings)
    if config.tls.get("self_signed"):
        ensure_self_signed(cert, key)
    elif not (cert.exists() and key.exists()):
        # Envoy would reject the HTTPS listener at load time, far from the cause.
        raise FileNotFoundError(f"TLS certificate or key missing: {cert}, {key} (tls.self_signed is false)")


def _replace(temporary: Path, final: Path, document: dict) -> None:
    temporary.write_text(yaml.safe_dump(document, sort_keys=False))
    os.replace(temporary, final)


# --- operations --------------------------------------------------------------------------------

READY_PATH = "/readyz"
ADMIN_CLUSTER = "envoy_admin"
# What the access log says about each request: one JSON object per line. The path leaves its query
# out (a client could put a credential there); no header that carries a credential is named.
ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ_WITHOUT_QUERY(:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "response_code_details": "%RESPONSE_CODE_DETAILS%",
    "duration_ms": "%DURATION%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "upstream_attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "tier": "%RESP(X-TIER)%",
    "cost_usd": "%RESP(X-COST-USD)%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user_agent": "%REQ(USER-AGENT)%",
}


def access_log(path: str) -> list[dict]:
    return [{"name": "envoy.access_loggers.file", "typed_config": {
        "@type": _type("envoy.extensions.access_loggers.file.v3.FileAccessLog"),
        "path": path,
        "log_format": {"json_format": ACCESS_LOG_FORMAT, "formatters": [
            {"name": "envoy.formatter.req_without_query", "typed_config": {
                "@type": _type("envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery")}}]},
    }}]


def log_requests(hcm: dict, settings: Settings) -> None:
    """An access log line per request, and its x-request-id on the response: what a client quotes to
    support is what every component's log lines carry."""
    hcm["access_log"] = access_log(access_log_path(settings))
    hcm["always_set_request_id_in_response"] = True


def health_checked(cluster: dict, ops_ports: list[int]) -> dict:
    """Envoy asks each endpoint's ops port for /readyz and sends nothing to one that is not ready
    (if none is, Envoy's panic mode uses them all). The ops ports speak HTTP/1.1 whatever the
    cluster speaks."""
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    for endpoint, port in zip(endpoints, ops_ports, strict=True):
        endpoint["endpoint"]["health_check_config"] = {"port_value": port}
    cluster["health_checks"] = [{
        "timeout": "1s", "interval": "5s", "no_traffic_interval": "5s", "unhealthy_threshold": 2,
        "healthy_threshold": 1, "http_health_check": {"path": READY_PATH, "codec_client_type": "HTTP1"}}]
    return cluster


def ops_resources(settings: Settings) -> dict:
    """A listener on CLEW_ENVOY_OPS_PORT passing /ready and /stats/prometheus to the admin port,
    which stays on loopback: probes and Prometheus reach those two paths, nothing else."""
    if not settings.envoy_ops_port:
        return {}
    routes = [{"match": {"path": path}, "route": {"cluster": ADMIN_CLUSTER}} for path in ("/ready", "/stats/prometheus")]
    hcm = {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": _type("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
        "stat_prefix": "ops", "codec_type": "AUTO", "http_filters": [router_filter()],
        "route_config": {"name": "ops", "virtual_hosts": [{"name": "ops", "domains": ["*"], "routes": routes}]}}}
    return {"static_resources": {
        "listeners": [{"name": "ops", "address": _address(settings.listen_address, settings.envoy_ops_port),
                       "filter_chains": [{"filters": [hcm]}]}],
        "clusters": [_cluster(ADMIN_CLUSTER, "127.0.0.1", [settings.admin_port])],
    }}


def access_log_path(settings: Settings) -> str:
    # Beside the watched directory, never in it: a file appearing there would not reload Envoy,
    # but it has no business among the config files either.
    return settings.envoy_access_log or str(Path(settings.home) / "log" / "envoy-access.log")


def _ensure_log_directory(settings: Settings) -> None:
    # Envoy opens the access log at startup and does not create its directory.
    path = access_log_path(settings)
    if not path.startswith("/dev/"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
