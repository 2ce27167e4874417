"""/metrics of the sidecar and the control plane: what operators scrape."""
import aiohttp

from tests.e2e.chat import chat
from tests.support.api import call, new_account


async def _scrape(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        return await response.text()


def _value(text: str, sample: str) -> float:
    line = next((line for line in text.splitlines() if line.startswith(sample + " ")), None)
    return float(line.rsplit(" ", 1)[1]) if line else 0.0


async def _sidecar_total(gateway, sample: str) -> float:
    ports = [int(gateway.env["CLEW_SIDECAR_METRICS_PORT"]) + i for i in range(gateway.sidecar_processes)]
    return sum([_value(await _scrape(f"http://127.0.0.1:{p}/metrics"), sample) for p in ports])


async def test_control_plane_counts_requests_by_route_and_status(client, gateway):
    sample = 'clew_control_plane_requests_total{method="POST",route="/v1/auth/signup",status="409"}'
    before = _value(await _scrape(gateway.metrics_url("control_plane")), sample)
    account = await new_account(client, gateway.url)
    await call(client, "POST", f"{gateway.url}/v1/auth/signup",
               json={"email": account.email, "password": account.password})
    text = await _scrape(gateway.metrics_url("control_plane"))
    assert _value(text, sample) == before + 1
    assert "clew_control_plane_request_duration_seconds_bucket" in text


async def test_control_plane_counts_failed_logins_by_reason(client, gateway):
    sample = 'clew_control_plane_auth_failures_total{reason="bad_password"}'
    before = _value(await _scrape(gateway.metrics_url("control_plane")), sample)
    account = await new_account(client, gateway.url)
    await call(client, "POST", f"{gateway.url}/v1/auth/login",
               json={"email": account.email, "password": "wrong-password"})
    assert _value(await _scrape(gateway.metrics_url("control_plane")), sample) == before + 1


async def test_sidecar_counts_auth_failures_by_reason(client, gateway):
    sample = 'clew_sidecar_auth_failures_total{reason="unknown_key"}'
    before = await _sidecar_total(gateway, sample)
    await call(client, "GET", f"{gateway.url}/v1/auth/me", headers={"X-API-Key": "sk-clew-unknown-unknown-unknown"})
    assert await _sidecar_total(gateway, sample) == before + 1


async def test_sidecar_counts_checks_and_their_latency(client, gateway):
    account = await new_account(client, gateway.url)
    before = await _sidecar_total(gateway, 'clew_sidecar_checks_total{result="allowed"}')
    await call(client, "GET", f"{gateway.url}/v1/auth/me", headers=account.bearer)
    assert await _sidecar_total(gateway, 'clew_sidecar_checks_total{result="allowed"}') == before + 1
    assert await _sidecar_total(gateway, "clew_sidecar_check_duration_seconds_count") > 0


async def test_metrics_are_not_reachable_through_envoy(client, base):
    status, body, _ = await call(client, "GET", f"{base}/metrics")
    assert status == 404 and "error" in body


async def test_sidecar_counts_ai_requests_tokens_cost_and_rejections(client, gateway):

    model = 'model="deepseek-v4",provider="deepseek"'  # the exposition sorts labels by name
    labels = f'endpoint="chat",{model}'
    requests = f'clew_requests_total{{{labels},status="200",tier="free"}}'
    tokens = f'clew_tokens_total{{endpoint="chat",kind="completion",{model},tier="free"}}'
    limited = 'clew_sidecar_rejections_total{reason="rate_limit_exceeded"}'
    before = [await _sidecar_total(gateway, s) for s in (requests, tokens, limited)]
    account = await new_account(client, gateway.url)
    for _ in range(11):
        await chat(client, gateway.url, {**account.bearer, "x-sim-completion-tokens": "7"}, model="deepseek-v4")
    after = [await _sidecar_total(gateway, s) for s in (requests, tokens, limited)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [10, 70, 1]
    assert await _sidecar_total(gateway, f'clew_cost_usd_total{{{labels},tier="free"}}') > 0
    assert await _sidecar_total(gateway, 'clew_sidecar_ext_proc_phase_seconds_count{phase="request_body"}') > 0
    assert await _sidecar_total(gateway, 'clew_upstream_response_seconds_count{provider="deepseek"}') > 0


async def test_sidecar_counts_requests_and_tokens_by_endpoint(client, gateway):
    model = 'model="text-embedding-3-small",provider="openai"'
    requests = f'clew_requests_total{{endpoint="embeddings",{model},status="200",tier="free"}}'
    tokens = f'clew_tokens_total{{endpoint="embeddings",kind="prompt",{model},tier="free"}}'
    before = [await _sidecar_total(gateway, s) for s in (requests, tokens)]
    account = await new_account(client, gateway.url)
    status, _, _ = await call(client, "POST", f"{gateway.url}/v1/embeddings", headers=account.bearer,
                              json={"model": "text-embedding-3-small", "input": "x" * 40})
    after = [await _sidecar_total(gateway, s) for s in (requests, tokens)]
    assert status == 200 and [a - b for a, b in zip(after, before, strict=True)] == [1, 10]
