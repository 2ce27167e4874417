"""The contract between Envoy's configuration (the renderer) and the sidecar (plugins): the names both
must spell alike, where the sidecar listens, and the per-install tokens only they know. Every string
both sides use is defined here and imported by both; neither writes it a second time.

Every request header named `x-clew-*` is the gateway's own: Envoy removes the client's before it picks
a route. On top of that, the routes to providers and routers also demand the route token, which
only the sidecar sets (with its routing decision), and the sidecar answers only gRPC calls that carry
the sidecar token, which only Envoy's configuration holds. Both tokens are derived from
CLEW_INTERNAL_SECRET, so they need no secret of their own, and neither reveals it.
"""
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AiEndpoint:
    """An AI endpoint: where clients send it. Envoy runs ext_proc on these paths (the renderer's AI
    routes); the sidecar picks the endpoint's plugin chain by the same paths (plugins.endpoints)."""
    name: str
    paths: tuple[str, ...]          # exact paths
    prefixes: tuple[str, ...] = ()  # paths under which the endpoint serves resources of its own

    def serves(self, path: str) -> bool:
        return path in self.paths or path.startswith(self.prefixes)


AI_ENDPOINTS = (
    AiEndpoint("chat", ("/v1/chat/completions",)),
    AiEndpoint("embeddings", ("/v1/embeddings",)),
    AiEndpoint("images", ("/v1/images/generations",)),
    # A video job's status and content: /v1/video/generations/{id}[/content].
    AiEndpoint("video", ("/v1/video/generations",), ("/v1/video/generations/",)),
    AiEndpoint("messages", ("/v1/messages",)),  # Anthropic's Messages API
    AiEndpoint("count_tokens", ("/v1/messages/count_tokens",)),
    AiEndpoint("responses", ("/v1/responses",)),  # OpenAI's Responses API
)


# Endpoints whose clients read Anthropic's error shape only (its SDK): the sidecar answers them so (their client
# API, plugins.endpoints), and Envoy's own replies on their paths are shaped so too (the renderer's local replies).
ANTHROPIC_ERROR_PATHS = tuple(path for endpoint in AI_ENDPOINTS if endpoint.name in ("messages", "count_tokens")
                              for path in endpoint.paths)


def ai_endpoint(path: str) -> AiEndpoint | None:
    """The endpoint a request path (its query left out) names, or None."""
    path = path.split("?", 1)[0]
    return next((endpoint for endpoint in AI_ENDPOINTS if endpoint.serves(path)), None)


CLIENT_HEADER_PREFIX = "x-clew-"  # request headers the gateway owns; clients' are dropped before routing

# Request headers the sidecar sets when it routes (ext_proc), matched by the provider and router routes.
PROVIDER_HEADER = "x-clew-provider"  # a provider's name, or "<router>#<mask>" for a router's candidates
ROUTE_TOKEN_HEADER = "x-clew-route"  # route_token(): the routing decision is the sidecar's

# Headers between a router's attempt (plugins.fallback.Attempt, the upstream ext_proc) and the request's
# own stream: who the attempt may use keys of, and what served it. Never seen by a provider or a client.
ACCOUNT_HEADER = "x-clew-account"  # to the attempts: whose BYOK keys they may use; removed before the provider
SERVED_BY_HEADER = "x-clew-served-by"  # an attempt's answer: the model that served
KEY_SOURCE_HEADER = "x-clew-key-source"  # an attempt's answer: "byok" when the account's own key served
MODEL_HEADER = "x-clew-model"  # on the client's response: the model id that served (a router's candidate)

# gRPC metadata Envoy sends with every call to the sidecar.
SIDECAR_TOKEN_METADATA = "x-clew-sidecar-token"  # sidecar_token(): the caller is Envoy
PHASE_METADATA = "x-clew-phase"  # "upstream": the routers' per-attempt ext_proc (plugins.fallback.Attempt)
UPSTREAM_PHASE = "upstream"

# ext_proc: the filter's name (the key of its attributes), the attributes the sidecar asks for, and
# what Envoy says of a response that came from upstream (not one of its own local replies).
EXT_PROC_FILTER = "envoy.filters.http.ext_proc"
RESPONSE_CODE_DETAILS = "response.code_details"
UPSTREAM_HOST_METADATA = "xds.upstream_host_metadata"
VIA_UPSTREAM = "via_upstream"
# A router candidate's endpoint metadata names its model: filter_metadata[namespace][key].
ENDPOINT_METADATA_NAMESPACE = "clew"
ENDPOINT_MODEL_KEY = "model"
# The sidecar's immediate replies carry this prefix in their details; Envoy passes them through untouched.
IMMEDIATE_DETAILS_PREFIX = "clew_"

# Processing modes, as ExternalProcessor's ProcessingMode spells them. The request side always goes to
# the sidecar (headers to authenticate, the buffered body to route); the response body mode is chosen per
# response (mode_override, which replaces the whole mode: every field is named).
REQUEST_PROCESSING_MODE = {"request_header_mode": "SEND", "response_header_mode": "SEND",
                           "request_body_mode": "BUFFERED", "response_body_mode": "NONE",
                           "request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP"}
STREAMED, BUFFERED, NONE = "STREAMED", "BUFFERED", "NONE"


def response_processing_mode(body_mode: str) -> dict[str, str]:
    return {**REQUEST_PROCESSING_MODE, "response_body_mode": body_mode}


# Cluster names and the x-clew-provider values that pick them.
def provider_cluster(provider: str) -> str:
    return f"provider_{provider}"


def _slug(router: str) -> str:
    return router.replace("/", "_").replace("-", "_")


def router_header_value(router: str, mask: int) -> str:
    """x-clew-provider for a router's candidates in `mask` (bit i = candidate i)."""
    return f"{router}#{mask}"


def router_cluster(router: str, mask: int) -> str:
    return f"router_{_slug(router)}_{mask}"


def candidate_cluster(router: str, index: int) -> str:
    return f"candidate_{_slug(router)}_{index}"


_MODEL_CLUSTER_PREFIXES = ("provider_", "router_", "candidate_")


def is_model_cluster(name) -> bool:
    """A cluster of providers (a provider's, a router's, a router candidate's): its requests are metered."""
    return isinstance(name, str) and name.startswith(_MODEL_CLUSTER_PREFIXES)


# The Redis Stream of usage events (after the Redis prefix): the sidecar appends, the ledger consumes.
USAGE_STREAM = "usage-events"


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
