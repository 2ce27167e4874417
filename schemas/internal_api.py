"""The contract between Envoy's configuration (control_plane/envoy_config) and the sidecar (plugins):
the names both must spell alike, where the sidecar listens, and the per-install tokens only they know.

Every request header named `x-clew-*` is the gateway's own: Envoy removes the client's before it picks
a route. On top of that, the routes to providers and routers also demand the route token, which
only the sidecar sets (with its routing decision), and the sidecar answers only gRPC calls that carry
the sidecar token, which only Envoy's configuration holds. Both tokens are derived from
CLEW_INTERNAL_SECRET, so they need no secret of their own, and neither reveals it.
"""
import hashlib
import hmac
from pathlib import Path

CLIENT_HEADER_PREFIX = "x-clew-"  # request headers the gateway owns; clients' are dropped before routing

# Request headers the sidecar sets when it routes (ext_proc), matched by the provider and router routes.
PROVIDER_HEADER = "x-clew-provider"  # a provider's name, or "<router>#<mask>" for a router's candidates
ROUTE_TOKEN_HEADER = "x-clew-route"  # route_token(): the routing decision is the sidecar's

# gRPC metadata Envoy sends with every call to the sidecar.
SIDECAR_TOKEN_METADATA = "x-clew-sidecar-token"  # sidecar_token(): the caller is Envoy
PHASE_METADATA = "x-clew-phase"  # "upstream": the routers' per-attempt ext_proc (plugins.fallback.Attempt)
UPSTREAM_PHASE = "upstream"

# Where sidecar process i listens: a Unix socket in a directory only the gateway's user may enter.
SOCKET_DIRECTORY = "run"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes, the terminating NUL included


def _derive(secret: bytes, purpose: str) -> str:
    return hmac.new(secret, f"clew internal api: {purpose}".encode(), hashlib.sha256).hexdigest()


def route_token(secret: bytes) -> str:
    return _derive(secret, "route token")


def sidecar_token(secret: bytes) -> str:
    return _derive(secret, "sidecar token")


def sidecar_socket(home: Path, index: int) -> Path:
    return Path(home) / SOCKET_DIRECTORY / f"sidecar-{index}.sock"
