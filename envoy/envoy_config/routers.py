"""Envoy clusters for the routers of gateway.yaml (clew/free, clew/ocr): fallback inside Envoy.

Each candidate gets a cluster of its own (its provider's endpoint, tagged with the candidate's
model name), and every ordered subset of a router's candidates an aggregate cluster over theirs.
The sidecar picks the subset of candidates not cooling down after a 429 and names it in the
`x-clew-provider` header; Envoy tries them in order, retrying on 429, 5xx and connect failures.
Before each attempt an upstream ext_proc filter asks the sidecar to rewrite the model, path, host
and credential for the candidate Envoy chose (ARCHITECTURE.md §3).
"""
from itertools import compress

from schemas.gateway import GatewayConfig
from schemas.internal_api import (
    ENDPOINT_METADATA_NAMESPACE,
    ENDPOINT_MODEL_KEY,
    EXT_PROC_FILTER,
    PHASE_METADATA,
    REQUEST_PROCESSING_MODE,
    UPSTREAM_HOST_METADATA,
    UPSTREAM_PHASE,
    candidate_cluster,
    router_cluster,
)
from schemas.upstreams import Upstream

from .http_filters import sidecar_grpc_service

RETRIABLE_STATUSES = [429, 500, 502, 503, 504]


def masks(router: dict) -> range:
    """Every non-empty subset of the candidates, as a bit mask (bit i = candidate i)."""
    return range(1, 2 ** len(router["candidates"]))


def candidate_clusters(config: GatewayConfig, upstreams: dict[str, Upstream], provider_cluster) -> list[dict]:
    """A copy of the provider's cluster per candidate, its endpoint tagged with the model."""
    clusters = []
    for router, spec in config.routers.items():
        for index, model in enumerate(spec["candidates"]):
            cluster = provider_cluster(upstreams[config.models[model]["provider"]])
            name = candidate_cluster(router, index)
            cluster["name"] = cluster["load_assignment"]["cluster_name"] = name
            for endpoint in cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]:
                endpoint["metadata"] = {"filter_metadata": {ENDPOINT_METADATA_NAMESPACE: {ENDPOINT_MODEL_KEY: model}}}
            clusters.append(cluster)
    return clusters


def aggregate_clusters(config: GatewayConfig, upstream_filters: list[dict]) -> list[dict]:
    clusters = []
    for router, spec in config.routers.items():
        indexes = range(len(spec["candidates"]))
        for mask in masks(spec):
            members = [candidate_cluster(router, i) for i in compress(indexes, _bits(mask, len(indexes)))]
            clusters.append(_aggregate(router_cluster(router, mask), members, upstream_filters))
    return clusters


def _bits(mask: int, count: int) -> list[bool]:
    return [bool(mask >> i & 1) for i in range(count)]


def _aggregate(name: str, members: list[str], upstream_filters: list[dict]) -> dict:
    # The upstream filters sit on the aggregate cluster: each retry attempt passes them again.
    return {
        "name": name,
        "connect_timeout": "5s",
        "lb_policy": "CLUSTER_PROVIDED",
        "cluster_type": {"name": "envoy.clusters.aggregate", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig",
            "clusters": members}},
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {}},
            "http_filters": upstream_filters}},
    }


def retry_policy(attempts: int) -> dict:
    """Up to one attempt per candidate, each on the next one (previous_priorities)."""
    return {
        "retry_on": "retriable-status-codes,connect-failure,reset",
        "retriable_status_codes": RETRIABLE_STATUSES,
        "num_retries": attempts - 1,
        "retry_priority": {"name": "envoy.retry_priorities.previous_priorities", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3."
                     "PreviousPrioritiesConfig",
            "update_frequency": 1}},
    }


def upstream_filters(sidecar_token: str) -> list[dict]:
    return [{"name": EXT_PROC_FILTER, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
        # The phase metadata tells the sidecar which filter calls.
        "grpc_service": sidecar_grpc_service(sidecar_token, {PHASE_METADATA: UPSTREAM_PHASE}),
        "failure_mode_allow": False,
        "message_timeout": "5s",
        "processing_mode": REQUEST_PROCESSING_MODE,
        # The candidate this attempt goes to: its endpoint's metadata names the model.
        "request_attributes": [UPSTREAM_HOST_METADATA],
        # The attempt's Host must be the candidate provider's.
        "mutation_rules": {"allow_all_routing": True},
    }}, {"name": "envoy.filters.http.upstream_codec", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec"}}]
