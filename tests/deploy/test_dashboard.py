"""The Grafana dashboard is generated as code; the committed JSON is exactly what the generator writes."""
import importlib.util
import json
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _generator():
    spec = importlib.util.spec_from_file_location("clew_dashboard", DEPLOY / "grafana" / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_dashboard_equals_a_fresh_generation():
    generator = _generator()
    assert generator.OUTPUT.read_text() == generator.render(), "run `make dashboards` and commit the JSON"


def test_dashboard_covers_what_operators_ask_about():
    metrics = " ".join(expr for _, expr in _generator().queries(json.loads(_generator().render())))
    for metric in ("clew_requests_total", "clew_upstream_errors_total", "clew_request_duration_seconds_bucket",
                   "clew_tokens_total", "clew_cost_usd_total", "clew_sidecar_rejections_total",
                   "clew_ledger_lag_events", "clew_config_info", "envoy_http_downstream_rq_xx",
                   "clew_sidecar_ext_proc_phase_seconds_bucket"):
        assert metric in metrics


def test_panels_do_not_overlap():
    cells = set()
    for panel in json.loads(_generator().render())["panels"]:
        grid = panel["gridPos"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine
