"""The clusters Envoy sends traffic to: sidecar, control plane, providers and the routers' fallbacks."""
import ipaddress
import os

from schemas.gateway import GatewayConfig
from schemas.internal_api import provider_cluster, sidecar_token
from schemas.settings import Settings
from schemas.upstreams import Upstream

from . import routers
from .http_filters import SIDECAR_CLUSTER
from .protos import address, type_url

# The system's CA bundle (Debian's path) for verifying providers' certificates.
CA_FILE = os.environ.get("CLEW_CA_FILE", "/etc/ssl/certs/ca-certificates.crt")
READY_PATH = "/readyz"


def clusters(config: GatewayConfig, settings: Settings, upstreams: dict[str, Upstream]) -> list[dict]:
    connect_timeout = config.upstream["connect_timeout_seconds"]
    return [sidecar_cluster(settings), control_plane_cluster(settings),
            *(provider_cluster_config(u, connect_timeout) for u in upstreams.values()),
            *routers.candidate_clusters(config, upstreams, lambda u: provider_cluster_config(u, connect_timeout)),
            *routers.aggregate_clusters(config, routers.upstream_filters(sidecar_token(settings.internal_secret)))]


def sidecar_cluster(settings: Settings) -> dict:
    # Unix sockets in the pod, not TCP: nothing off this host (or outside the gateway's user) can
    # reach the sidecar, which holds the provider keys (plugins.grpc_guard).
    cluster = {"name": SIDECAR_CLUSTER, "type": "STATIC", "connect_timeout": "1s", "load_assignment": {
        "cluster_name": SIDECAR_CLUSTER, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"pipe": {"path": str(path)}}}} for path in settings.sidecar_sockets]}]}}
    # gRPC needs HTTP/2. Least-request keeps a busy sidecar process from getting more streams.
    cluster["lb_policy"] = "LEAST_REQUEST"
    # A dead sidecar process would fail every request balanced to it; set it aside for a while
    # (connection failures count as 5xx). If every process is out, Envoy's panic mode uses them all.
    cluster["outlier_detection"] = {"consecutive_5xx": 3, "interval": "1s", "base_ejection_time": "10s",
                                    "max_ejection_percent": 50}
    cluster["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": type_url("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
        "explicit_http_config": {"http2_protocol_options": {}},
    }}
    ops = [settings.sidecar_metrics_port + i for i in range(settings.sidecar_processes)]
    return health_checked(cluster, ops, _local_ops_host(settings))


def control_plane_cluster(settings: Settings) -> dict:
    cluster = static_cluster("control_plane", settings.control_plane_host or settings.upstream_host,
                             [settings.control_plane_port])
    return health_checked(cluster, [settings.control_plane_metrics_port])


def provider_cluster_config(upstream: Upstream, connect_timeout: int) -> dict:
    cluster = static_cluster(provider_cluster(upstream.provider), upstream.host, [upstream.port],
                             f"{connect_timeout}s")
    if upstream.tls:
        cluster["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": type_url("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
            "sni": upstream.host,
            "common_tls_context": {"validation_context": {
                "trusted_ca": {"filename": CA_FILE}, "match_typed_subject_alt_names": [
                    {"san_type": "DNS", "matcher": {"exact": upstream.host}}]}},
        }}
    return cluster


def static_cluster(name: str, host: str, ports: list[int], connect_timeout: str = "1s") -> dict:
    """A cluster of fixed endpoints: `host` on each of `ports`."""
    return {
        "name": name,
        # STATIC takes only IP addresses; a service name (docker compose, k8s) needs DNS.
        "type": "STATIC" if _is_ip(host) else "STRICT_DNS",
        "connect_timeout": connect_timeout,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": address(host, port)}} for port in ports]}]},
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _local_ops_host(settings: Settings) -> str:
    """Where Envoy reaches the sidecars' ops ports: they are on its host, bound to bind_address."""
    return "127.0.0.1" if settings.bind_address in ("0.0.0.0", "::", "") else settings.bind_address


def health_checked(cluster: dict, ops_ports: list[int], ops_host: str | None = None) -> dict:
    """Envoy asks each endpoint's ops port for /readyz and sends nothing to one that is not ready
    (if none is, Envoy's panic mode uses them all). The ops ports speak HTTP/1.1 whatever the
    cluster speaks; `ops_host` is for endpoints that are not at an IP address (Unix sockets)."""
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    for endpoint, port in zip(endpoints, ops_ports, strict=True):
        endpoint["endpoint"]["health_check_config"] = (
            {"address": address(ops_host, port)} if ops_host else {"port_value": port})
    cluster["health_checks"] = [{
        "timeout": "1s", "interval": "5s", "no_traffic_interval": "5s", "unhealthy_threshold": 2,
        "healthy_threshold": 1, "http_health_check": {"path": READY_PATH, "codec_client_type": "HTTP1"}}]
    return cluster
