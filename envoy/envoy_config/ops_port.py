"""Envoy's ops port: probes and Prometheus reach /ready and /stats/prometheus, never the admin port itself."""
from schemas.settings import Settings

from .clusters import static_cluster
from .http_filters import router_filter
from .protos import address, type_url

ADMIN_CLUSTER = "envoy_admin"


def ops_resources(settings: Settings) -> dict:
    """A listener on CLEW_ENVOY_OPS_PORT passing /ready and /stats/prometheus to the admin port,
    which stays on loopback: probes and Prometheus reach those two paths, nothing else."""
    if not settings.envoy_ops_port:
        return {}
    routes = [{"match": {"path": path}, "route": {"cluster": ADMIN_CLUSTER}}
              for path in ("/ready", "/stats/prometheus")]
    hcm = {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": type_url("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
        "stat_prefix": "ops", "codec_type": "AUTO", "http_filters": [router_filter()],
        "route_config": {"name": "ops", "virtual_hosts": [{"name": "ops", "domains": ["*"], "routes": routes}]}}}
    return {"static_resources": {
        "listeners": [{"name": "ops", "address": address(settings.listen_address, settings.envoy_ops_port),
                       "filter_chains": [{"filters": [hcm]}]}],
        "clusters": [static_cluster(ADMIN_CLUSTER, "127.0.0.1", [settings.admin_port])],
    }}
