"""Prometheus metrics of the sidecar (served by schemas.ops_endpoints on a port of its own)."""
from prometheus_client import Counter, Gauge, Histogram

CHECKS = Counter("clew_sidecar_checks_total", "ext_authz checks by outcome", ["result"])
CHECK_LATENCY = Histogram("clew_sidecar_check_duration_seconds", "Time to answer one ext_authz check",
                          buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
AUTH_FAILURES = Counter("clew_sidecar_auth_failures_total", "Rejected credentials by reason", ["reason"])
CACHE_LOOKUPS = Counter("clew_sidecar_identity_cache_lookups_total", "Identity cache lookups", ["result"])
CHANGE_FEED_ERRORS = Counter("clew_sidecar_change_feed_errors_total", "Failed polls of the account change feed")

# The AI data plane. Labels are bounded sets from gateway.yaml: never an account, key or request id.
# `endpoint` is the AI endpoint's name (plugins.endpoints: chat, embeddings, images...).
REQUESTS = Counter("clew_requests_total", "AI requests that reached a provider",
                   ["model", "provider", "tier", "endpoint", "status"])
TOKENS = Counter("clew_tokens_total", "Tokens reported by providers", ["model", "provider", "tier", "endpoint", "kind"])
COST = Counter("clew_cost_usd_total", "Cost of AI requests in USD", ["model", "provider", "tier", "endpoint"])
REJECTIONS = Counter("clew_sidecar_rejections_total", "AI requests refused by the sidecar, by reason", ["reason"])
UPSTREAM_LATENCY = Histogram("clew_upstream_response_seconds", "Time from request to the provider's response headers",
                             ["provider"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
PHASE_LATENCY = Histogram("clew_sidecar_ext_proc_phase_seconds", "Time the sidecar spends on each ext_proc message",
                          ["phase"], buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25))
# Every AI request that named a model, whatever became of it (an unreachable provider included).
REQUEST_DURATION = Histogram("clew_request_duration_seconds",
                             "AI requests from the first ext_proc message to the last byte, by model",
                             ["model", "provider", "tier"],
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
UPSTREAM_ERRORS = Counter("clew_upstream_errors_total",
                          "Provider calls that failed, by reason (http_429, http_4xx, http_5xx, timeout, "
                          "unreachable, disconnected)", ["provider", "reason"])
USAGE_SPOOLED = Counter("clew_usage_spooled_total",
                        "Usage events kept in the local spool because the usage queue was unavailable")
USAGE_SPOOL_DEPTH = Gauge("clew_usage_spool_depth", "Usage events in the local spool, not yet queued")
# Sidecar 0 only: the delivery reconciler reading Envoy's access log (plugins.delivery_reconciler).
DELIVERY_LINES = Counter("clew_delivery_log_lines_total", "Lines of Envoy's access log the delivery reconciler read")
DELIVERY_CORRECTIONS = Counter("clew_delivery_corrections_total",
                               "Requests Envoy did not finish cleanly, by what the ledger needed: corrected "
                               "(billed for what went through), delivered (already right), expired (no row came)",
                               ["result"])
DELIVERY_PENDING = Gauge("clew_delivery_corrections_pending",
                         "Requests Envoy did not finish cleanly whose ledger row has not arrived yet")
for _result in ("corrected", "delivered", "expired"):
    DELIVERY_CORRECTIONS.labels(_result)
