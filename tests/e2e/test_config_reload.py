"""Editing gateway.yaml under a running gateway: good edits apply without a restart, bad ones change nothing.

These tests edit the config, so they run against a gateway of their own. The reload path (the file
watch, Envoy's rendered config, each sidecar following the published copy) does not depend on the
backend, so they run once, on PostgreSQL + Redis: there two sidecar processes must both follow.
"""
import asyncio

import pytest
import yaml

from tests.e2e.chat import chat, sdk
from tests.support.api import call, new_account
from tests.support.ports import free_port
from tests.support.stack import start_gateway

pytestmark = pytest.mark.redis_only

# A pool key for NVIDIA makes its route a real-provider route, which the tests then point elsewhere.
EXTRA_ENV = {"NVIDIA_API_KEY": "nvapi-test-key"}


@pytest.fixture(scope="module")
def own_gateway(backend, tmp_path_factory):
    stack = start_gateway(backend, tmp_path_factory.mktemp(f"reload-{backend.name}"), EXTRA_ENV)
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def restore_config(own_gateway):
    """Each test starts from the shipped config; its edits are undone afterwards."""
    original = own_gateway.config_path.read_text()
    yield
    own_gateway.config_path.write_text(original)


def _edit(gateway, change) -> None:
    data = yaml.safe_load(gateway.config_path.read_text())
    change(data)
    gateway.config_path.write_text(yaml.safe_dump(data, sort_keys=False))


async def _eventually(probe, timeout: float = 6.0):
    """Poll `probe` until it returns something truthy: reloads happen within a couple of seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await probe()) and loop.time() < deadline:
        await asyncio.sleep(0.2)
    return result


async def _model_ids(client, gateway) -> set:
    _, body, _ = await call(client, "GET", f"{gateway.url}/v1/models")
    return {m["id"] for m in body["data"]}


async def test_models_list_is_openai_shaped_with_prices(client, own_gateway):
    status, body, _ = await call(client, "GET", f"{own_gateway.url}/v1/models")
    model = next(m for m in body["data"] if m["id"] == "deepseek-v4-pro")
    assert status == 200 and body["object"] == "list"
    assert model == {**model, "object": "model", "owned_by": "deepseek", "context_window": 1000000}
    assert (model["pricing"]["input"], model["pricing"]["output"]) == ("1.50", "4.00")


async def test_added_model_is_listed_and_served_without_a_restart(client, own_gateway):
    _edit(own_gateway, lambda d: d["models"].update({"deepseek-v4-lite": {
        "provider": "deepseek", "upstream_model": "deepseek-v4-lite", "context_window": 64000,
        "price_per_1m": {"input": "0.10", "output": "0.20"}}}))
    assert await _eventually(lambda: _has_model(client, own_gateway, "deepseek-v4-lite"))
    account = await new_account(client, own_gateway.url)

    async def served():
        status, _, headers = await chat(client, own_gateway.url, {**account.bearer, "x-sim-prompt-tokens": "10",
                                                                  "x-sim-completion-tokens": "10"},
                                        model="deepseek-v4-lite")
        return status == 200 and headers["x-cost-usd"] == "0.000003"
    assert await _eventually(served)


async def _has_model(client, gateway, model: str) -> bool:
    return model in await _model_ids(client, gateway)


async def test_invalid_edit_keeps_the_previous_config_serving(client, own_gateway):
    before = await _model_ids(client, own_gateway)
    own_gateway.config_path.write_text(own_gateway.config_path.read_text() + "\nmodels: [not, a, map\n")
    await asyncio.sleep(2.5)  # longer than every component's reload poll
    assert await _model_ids(client, own_gateway) == before
    account = await new_account(client, own_gateway.url)
    completion = await sdk(own_gateway.url, account.token).chat.completions.create(
        model="deepseek-v4", messages=[{"role": "user", "content": "still there?"}])
    assert completion.choices[0].message.content
    assert "is invalid" in own_gateway.log()


async def test_route_timeout_edit_reaches_envoy_and_a_slow_provider_is_504(client, own_gateway):
    _edit(own_gateway, lambda d: d.setdefault("upstream", {}).update(timeout_seconds=1))
    account = await new_account(client, own_gateway.url)

    async def timed_out():
        status, body, _ = await chat(client, own_gateway.url, {**account.bearer, "x-sim-latency-ms": "2500"},
                                     model="deepseek-v4")
        return status == 504 and body["error"]["code"] == "upstream_timeout"
    assert await _eventually(timed_out, timeout=10)


async def test_unreachable_provider_is_502_and_not_metered(client, own_gateway, backend):
    closed = free_port()
    _edit(own_gateway, lambda d: d["providers"]["nvidia"].update(base_url=f"http://127.0.0.1:{closed}"))
    account = await new_account(client, own_gateway.url)

    async def unreachable():
        status, body, _ = await chat(client, own_gateway.url, account.bearer, model="nvidia/nemotron")
        return status == 502 and body["error"]["code"] == "upstream_unavailable"
    assert await _eventually(unreachable)
    _, me, _ = await call(client, "GET", f"{own_gateway.url}/v1/auth/me", headers=account.bearer)
    assert me["usage"]["requests"] == 0
