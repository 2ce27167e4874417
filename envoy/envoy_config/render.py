"""Render Envoy's configuration from gateway.yaml and Settings.

Envoy starts from `bootstrap.yaml` and reads clusters (cds.yaml), listeners (lds.yaml) and routes
(rds.yaml) from files in a watched directory: renaming a new file into it reloads Envoy without a
restart. This module assembles those documents from the modules beside it; `write()` is the only
function here that touches the disk.
"""
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from schemas.gateway import GatewayConfig
from schemas.internal_api import route_token
from schemas.settings import Settings
from schemas.upstreams import resolve

from .access_log import access_log_path, ensure_log_directory
from .clusters import clusters
from .http_filters import router_filter
from .listeners import buffer_limit, http_connection_manager, listeners
from .ops_port import ops_resources
from .protos import address, type_url
from .route_config import ROUTE_CONFIG_NAME, route_configuration
from .runtime import layered_runtime
from .tls import ensure_self_signed, resolve_tls_paths

# access_log_path, buffer_limit, http_connection_manager and router_filter live beside this module;
# named here too because tests and the benchmark's bare Envoy reach them as `render.<name>`.
__all__ = ["BOOTSTRAP", "CDS", "LDS", "RDS", "WRITE_ORDER", "access_log_path", "buffer_limit", "envoy_dir",
           "http_connection_manager", "render", "render_static", "router_filter", "write"]

BOOTSTRAP, CDS, RDS, LDS = "bootstrap.yaml", "cds.yaml", "rds.yaml", "lds.yaml"
# Clusters before the routes that name them, routes before the listeners that use them.
WRITE_ORDER = (CDS, RDS, LDS, BOOTSTRAP)
MAX_DOWNSTREAM_CONNECTIONS = 50_000


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
        RDS: _discovery([route_configuration(config, upstreams, route_token(settings.internal_secret))],
                        "envoy.config.route.v3.RouteConfiguration"),
        LDS: _discovery(listeners(config, settings, {"rds": rds}), "envoy.config.listener.v3.Listener"),
    }


def render_static(config: GatewayConfig, settings: Settings, env: Mapping = os.environ) -> dict:
    """The same listeners, routes and clusters inlined in one bootstrap, for `envoy --mode validate`.

    Validate mode does not read path-based dynamic resources, so this is how they get checked.
    """
    upstreams = resolve(config, env)
    inline = {"route_config": route_configuration(config, upstreams, route_token(settings.internal_secret))}
    return _bootstrap(settings, {"static_resources": {
        "listeners": listeners(config, settings, inline),
        "clusters": clusters(config, settings, upstreams),
    }})


def _bootstrap(settings: Settings, resources: dict) -> dict:
    return {
        "node": {"id": "clew", "cluster": "clew"},
        # Loopback whatever listen_address says: the admin port can reconfigure and stop Envoy.
        "admin": {"address": address("127.0.0.1", settings.admin_port)},
        "overload_manager": _connection_limit(),
        "layered_runtime": layered_runtime(),  # ext_proc streams closed, not reset (see .runtime)
        **resources,
    }


def _connection_limit() -> dict:
    # Without a cap a connection flood exhausts file descriptors (Envoy warns at startup).
    return {"resource_monitors": [{"name": "envoy.resource_monitors.global_downstream_max_connections",
                                   "typed_config": {
        "@type": type_url("envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig"),
        "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS}}]}


def _path_source(directory: Path, name: str) -> dict:
    # Envoy re-reads `path` when any file is renamed into the watched directory.
    return {"resource_api_version": "V3", "path_config_source": {
        "path": str(directory / name), "watched_directory": {"path": str(directory)}}}


def _discovery(resources: list[dict], type_name: str) -> dict:
    return {"resources": [{"@type": type_url(type_name), **r} for r in resources]}


# --- disk --------------------------------------------------------------------------------------

def write(config: GatewayConfig, settings: Settings, env: Mapping = os.environ) -> Path:
    """Render into CLEW_HOME/envoy, each file atomically; returns the bootstrap's path."""
    _ensure_tls(config, settings)
    ensure_log_directory(settings)
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
    # 0600 from the start: the documents carry the route and sidecar tokens (schemas.internal_api).
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(yaml.safe_dump(document, sort_keys=False))
    os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    os.replace(temporary, final)
