"""A real Prometheus with our scrape config and alert rules, scraping a running gateway.

The proof that the dashboard shows something: after traffic through Envoy, every panel's query
returns data, so no panel names a metric the gateway does not export.
"""
import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.e2e.chat import chat
from tests.support.api import call, new_account
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "clew-overview.json"
# What Grafana puts in for its variables, sized for a 1 s scrape interval.
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__range": "2m"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (`make test` installs Debian's prometheus package)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("promtool"), *args], capture_output=True, text=True, cwd=PROMETHEUS_DIR, timeout=60)


def dashboard_queries() -> list[tuple[str, str]]:
    spec = importlib.util.spec_from_file_location("clew_dashboard", ROOT / "deploy" / "grafana" / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.queries(json.loads(DASHBOARD.read_text()))


def local_scrape_config(gateway) -> dict:
    """deploy/prometheus/prometheus.yml with this gateway's ports as targets and a 1 s interval."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    sidecars = int(gateway.env["CLEW_SIDECAR_METRICS_PORT"])
    targets = {"clew-envoy": [f"127.0.0.1:{gateway.env['CLEW_ENVOY_OPS_PORT']}"],
               "clew-sidecar": [f"127.0.0.1:{sidecars + i}" for i in range(gateway.sidecar_processes)],
               "clew-control-plane": [f"127.0.0.1:{gateway.env['CLEW_CONTROL_PLANE_METRICS_PORT']}"],
               "clew-supervisor": [f"127.0.0.1:{gateway.env['CLEW_SUPERVISOR_METRICS_PORT']}"]}
    assert {job["job_name"] for job in config["scrape_configs"]} == targets.keys()
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
    return config


@pytest.fixture(scope="module")
def prometheus(ops_gateway, tmp_path_factory):
    home = tmp_path_factory.mktemp("prometheus")
    (home / "prometheus.yml").write_text(yaml.safe_dump(local_scrape_config(ops_gateway)))
    port = free_port()
    with (home / "prometheus.log").open("w") as log:
        process = subprocess.Popen([_tool("prometheus"), f"--config.file={home / 'prometheus.yml'}",
                                    f"--storage.tsdb.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                    "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url, home / "prometheus.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    import urllib.request
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"prometheus did not become ready:\n{log.read_text()}")


async def _api(session: aiohttp.ClientSession, url: str, **params) -> dict:
    async with session.get(url, params=params) as response:
        body = await response.json()
        assert body["status"] == "success", body
        return body["data"]


async def _query(session, prometheus: str, expr: str) -> list:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return (await _api(session, f"{prometheus}/api/v1/query", query=expr))["result"]


async def _wave(client, gateway) -> None:
    """Traffic of every kind a panel shows: models, an upstream failure, a rate limit, bad credentials."""
    account = await new_account(client, gateway.url)
    for model in ["deepseek-v4"] * 5 + ["gpt-5.5"] * 4:
        status, _, _ = await chat(client, gateway.url, account.bearer, model=model)
        assert status == 200
    failed, _, _ = await chat(client, gateway.url, {**account.bearer, "x-sim-status": "500"}, model="groq/llama4")
    limited, _, _ = await chat(client, gateway.url, account.bearer, model="deepseek-v4")  # free tier: 10 a minute
    assert (failed, limited) == (502, 429)
    await call(client, "GET", f"{gateway.url}/v1/keys", headers=account.bearer)
    await call(client, "GET", f"{gateway.url}/v1/auth/me", headers={"X-API-Key": "sk-clew-unknown-unknown-unknown"})
    await call(client, "POST", f"{gateway.url}/v1/auth/login", json={"email": account.email, "password": "wrong"})


async def _empty_panels(session, prometheus: str) -> list[str]:
    return [f"{title}: {expr}" for title, expr in dashboard_queries() if not await _query(session, prometheus, expr)]


async def test_every_dashboard_panel_query_returns_data_after_traffic(prometheus, ops_gateway):
    async with aiohttp.ClientSession() as session:
        await _wave(session, ops_gateway)
        await asyncio.sleep(2.5)  # a scrape between the waves: the second one makes every rate positive
        await _wave(session, ops_gateway)
        deadline, empty = time.monotonic() + 20, ["not queried yet"]
        while empty and time.monotonic() < deadline:
            await asyncio.sleep(1)
            empty = await _empty_panels(session, prometheus)
    assert empty == [], "panels whose query returns nothing:\n" + "\n".join(empty)


async def test_scrape_config_reaches_every_component(prometheus):
    async with aiohttp.ClientSession() as session:
        targets = (await _api(session, f"{prometheus}/api/v1/targets"))["activeTargets"]
    assert {t["labels"]["job"] for t in targets} == {"clew-envoy", "clew-sidecar", "clew-control-plane",
                                                          "clew-supervisor"}
    assert [t for t in targets if t["health"] != "up"] == []


async def test_alert_rules_evaluate_against_the_real_series(prometheus):
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 10
        while True:
            groups = (await _api(session, f"{prometheus}/api/v1/rules"))["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            if all(rule.get("lastEvaluation", "").startswith("2") and rule["health"] != "unknown" for rule in rules) \
                    or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    assert len(rules) == 11
    assert [(r["name"], r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def test_promtool_accepts_the_compose_and_kubernetes_scrape_configs():
    result = _promtool("check", "config", "prometheus.yml", "prometheus-kubernetes.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules():
    result = _promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0 and "SUCCESS: 11 rules found" in result.stdout, result.stdout + result.stderr


def test_each_alert_fires_on_its_failure_and_not_on_health():
    result = _promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_summary_and_a_runbook_line():
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert [r["alert"] for r in rules if not {"summary", "runbook", "runbook_url"} <= r["annotations"].keys()] == []
    operations = (ROOT / "docs" / "operations.md").read_text().lower()
    assert [r["alert"] for r in rules if f"### {r['alert'].lower()}" not in operations] == []
