"""The Grafana dashboard of Clew Gateway, as code: `make dashboards` (or `python deploy/grafana/dashboard.py`)
writes deploy/grafana/dashboards/clew-overview.json, which is committed and provisioned as is.

Every query here must return data from a running gateway: tests/deploy/test_prometheus.py runs
each one against a real Prometheus scraping a real gateway. Change the panels here, regenerate,
and commit both (a test fails while they differ).
"""
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("dashboards") / "clew-overview.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
LISTENERS = 'envoy_http_conn_manager_prefix=~"http|https"'  # the public listeners, not the ops one
RATE = "[$__rate_interval]"
WIDTH, HEIGHT, COLUMNS = 8, 8, 3


def target(expr: str, legend: str = "", instant: bool = False) -> dict:
    return {"expr": expr, "legendFormat": legend or "__auto", "range": not instant, "instant": instant}


def panel(kind: str, title: str, description: str, targets: list[dict], unit: str = "short", **options) -> dict:
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "targets": [{**t, "refId": chr(ord("A") + i), "datasource": DATASOURCE} for i, t in enumerate(targets)],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": options}


def timeseries(title: str, description: str, targets: list[dict], unit: str = "short") -> dict:
    return panel("timeseries", title, description, targets, unit,
                 legend={"displayMode": "list", "placement": "bottom", "showLegend": True},
                 tooltip={"mode": "multi", "sort": "desc"})


def stat(title: str, description: str, targets: list[dict], unit: str = "short") -> dict:
    return panel("stat", title, description, targets, unit, reduceOptions={"calcs": ["lastNotNull"]},
                 colorMode="value", graphMode="area")


def top(title: str, description: str, expr: str, legend: str, unit: str = "short") -> dict:
    return panel("bargauge", title, description, [target(expr, legend, instant=True)], unit,
                 orientation="horizontal", displayMode="basic", reduceOptions={"calcs": ["lastNotNull"]})


def quantiles(metric: str, by: str = "", qs=(0.5, 0.95, 0.99)) -> list[dict]:
    group = f"le, {by}" if by else "le"
    return [target(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{RATE})))",
                   f"p{int(q * 100)}" + (f" {{{{{by}}}}}" if by else "")) for q in qs]


ROWS = [
    ("Traffic", [
        timeseries("AI requests by model", "Requests that reached a provider, per second (sidecar).",
                   [target(f"sum by (model) (rate(clew_requests_total{RATE}))", "{{model}}")], "reqps"),
        timeseries("AI requests by provider", "Requests that reached a provider, per second (sidecar).",
                   [target(f"sum by (provider) (rate(clew_requests_total{RATE}))", "{{provider}}")], "reqps"),
        timeseries("All requests through Envoy by status class", "Every route, management and public ones included.",
                   [target(f"sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx"
                           f"{{{LISTENERS}}}{RATE}))", "{{envoy_response_code_class}}xx")], "reqps"),
        timeseries("AI requests by tier", "Which tiers the traffic comes from.",
                   [target(f"sum by (tier) (rate(clew_requests_total{RATE}))", "{{tier}}")], "reqps"),
        timeseries("Control-plane requests by route and status", "Sign-ups, logins, keys, usage... (control plane).",
                   [target(f"sum by (route, status) (rate(clew_control_plane_requests_total{RATE}))",
                           "{{route}} {{status}}")], "reqps"),
    ]),
    ("Errors", [
        stat("5xx ratio (Envoy)", "Share of all responses that were 5xx: the ClewHigh5xxRatio alert.",
             [target(f"sum(rate(envoy_http_downstream_rq_xx{{{LISTENERS},envoy_response_code_class=\"5\"}}{RATE}))"
                     f" / sum(rate(envoy_http_downstream_rq_total{{{LISTENERS}}}{RATE}))", "5xx")], "percentunit"),
        timeseries("AI errors by status", "AI responses with a 4xx or 5xx status after reaching a provider.",
                   [target(f"sum by (status) (rate(clew_requests_total{{status=~\"[45]..\"}}{RATE}))", "{{status}}")],
                   "reqps"),
        timeseries("Upstream errors by provider and reason", "Provider calls that failed: the "
                   "ClewUpstreamProviderFailing alert counts http_5xx, timeout, unreachable and disconnected.",
                   [target(f"sum by (provider, reason) (rate(clew_upstream_errors_total{RATE}))",
                           "{{provider}} {{reason}}")], "reqps"),
        timeseries("Rejections by reason", "Requests the sidecar refused: rate limits, quotas, bad requests, "
                   "unknown models.",
                   [target(f"sum by (reason) (rate(clew_sidecar_rejections_total{RATE}))", "{{reason}}")], "reqps"),
        timeseries("Authentication failures by reason", "Bad keys and tokens (sidecar) and failed logins "
                   "(control plane).",
                   [target(f"sum by (reason) (rate(clew_sidecar_auth_failures_total{RATE}))", "sidecar {{reason}}"),
                    target(f"sum by (reason) (rate(clew_control_plane_auth_failures_total{RATE}))",
                           "control plane {{reason}}")], "reqps"),
        timeseries("Webhook delivery attempts by result", "Deliveries to customers' endpoints (control plane): "
                   "retry and failed are what the ClewWebhookDeliveriesFailing alert counts.",
                   [target(f"sum by (result) (rate(clew_webhook_attempts_total{RATE}))", "{{result}}")], "ops"),
        timeseries("Upstream retries and fallbacks (Envoy)", "Retries Envoy made to provider clusters, per cluster.",
                   [target(f"sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_retry"
                           f"{{envoy_cluster_name=~\"provider_.*|router_.*\"}}{RATE}))", "{{envoy_cluster_name}}")],
                   "reqps"),
    ]),
    ("Latency", [
        timeseries("AI request latency", "From the first byte Envoy handed the sidecar to the last byte of "
                   "the response.",
                   quantiles("clew_request_duration_seconds"), "s"),
        timeseries("AI request latency p95 by model", "Slow models stand out here.",
                   quantiles("clew_request_duration_seconds", "model", (0.95,)), "s"),
        timeseries("Provider time to response headers p95", "Time to first byte from each provider.",
                   quantiles("clew_upstream_response_seconds", "provider", (0.95,)), "s"),
        timeseries("Envoy downstream latency", "Every request through Envoy, as its clients saw it.",
                   [target(f"histogram_quantile({q}, sum by (le) (rate(envoy_http_downstream_rq_time_bucket"
                           f"{{{LISTENERS}}}{RATE})))", f"p{int(q * 100)}") for q in (0.5, 0.99)], "ms"),
        timeseries("Sidecar time per ext_proc phase p95", "What the gateway itself adds, phase by phase.",
                   quantiles("clew_sidecar_ext_proc_phase_seconds", "phase", (0.95,)), "s"),
    ]),
    ("Tokens and cost", [
        timeseries("Tokens by model and kind", "Prompt and completion tokens per second, as providers report them.",
                   [target(f"sum by (model, kind) (rate(clew_tokens_total{RATE}))", "{{model}} {{kind}}")], "short"),
        timeseries("Cost per hour by model", "What the traffic costs at gateway.yaml's prices, in USD per hour.",
                   [target(f"sum by (model) (rate(clew_cost_usd_total{RATE})) * 3600", "{{model}}")], "currencyUSD"),
        top("Top models by requests", "Over the dashboard's time range.",
            "topk(5, sum by (model) (increase(clew_requests_total[$__range])))", "{{model}}"),
        top("Top providers by cost", "USD over the dashboard's time range.",
            "topk(5, sum by (provider) (increase(clew_cost_usd_total[$__range])))", "{{provider}}", "currencyUSD"),
    ]),
    ("Ledger, config and health", [
        stat("Ledger lag", "Usage events not yet in the database: the ClewLedgerLagGrowing alert.",
             [target("max(clew_ledger_lag_events)", "events")]),
        timeseries("Usage events landed", "Usage events moved from the stream into the ledger, by outcome.",
                   [target(f"sum by (result) (rate(clew_ledger_events_total{RATE}))", "{{result}}")], "ops"),
        timeseries("gateway.yaml reloads", "Changes seen by each component, applied or rejected as invalid.",
                   [target("sum by (job, result) (increase(clew_config_reloads_total[$__range]))",
                           "{{job}} {{result}}")], "short"),
        stat("gateway.yaml versions in use", "1 when every process runs the same gateway.yaml.",
             [target("count(count by (sha256) (clew_config_info))", "versions")]),
        stat("Components up", "Scrape targets answering, per component.",
             [target('sum by (job) (up{job=~"clew-.*"})', "{{job}}")]),
        stat("Dependencies reachable", "1 when every process reaches it: PostgreSQL and Redis.",
             [target("min by (dependency) (clew_dependency_up)", "{{dependency}}")]),
    ]),
]


def _laid_out() -> list[dict]:
    panels, y, next_id = [], 0, 1
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "id": next_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id, y = next_id + 1, y + 1
        for i, item in enumerate(row):
            item = {**item, "id": next_id, "gridPos": {"h": HEIGHT, "w": WIDTH, "x": (i % COLUMNS) * WIDTH,
                                                      "y": y + (i // COLUMNS) * HEIGHT}}
            panels.append(item)
            next_id += 1
        y += -(-len(row) // COLUMNS) * HEIGHT
    return panels


def dashboard() -> dict:
    return {
        "uid": "clew-overview",
        "title": "Clew Gateway: overview",
        "description": "Traffic, errors, latency, tokens, cost, rejections, ledger lag and config of Clew Gateway.",
        "tags": ["clew"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {"text": "Prometheus", "value": "clew-prometheus"}, "hide": 0, "refresh": 1}]},
        "annotations": {"list": []},
        "panels": _laid_out(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def queries(document: dict) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel of a dashboard document."""
    return [(p["title"], t["expr"]) for p in document["panels"] for t in p.get("targets", [])]


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(Path.cwd()) if OUTPUT.is_relative_to(Path.cwd()) else OUTPUT}", file=sys.stderr)
