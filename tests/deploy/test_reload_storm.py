"""A reload storm: 20 edits of gateway.yaml in four seconds, some of them invalid, under live traffic.

Every process ends on the last edit (the sidecars and the control plane report its SHA-256;
Envoy's config dump shows its routes and clusters), an invalid edit after it changes nothing, and
traffic is served throughout. Followers poll the file, so an edit overwritten within a poll may
never be seen by anyone; what the storm proves is that all of them end on the same, last one.
The test puts the shipped config back and waits for it (which also takes a provider out of Envoy),
so the gateway it borrows is left as it found it.
"""
import asyncio
import hashlib
import json

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from schemas.database import create_engine
from tests.e2e.chat import chat
from tests.support.accounts import set_tier
from tests.support.api import new_account

EDITS, EDIT_EVERY = 20, 0.2
TRAFFIC_PAUSE = 0.05  # at most 20 requests a second: far below the enterprise tier's 1000 a minute
STORM_PROVIDER = {"base_url": "http://127.0.0.1:9", "chat_path": "/v1/chat/completions", "api_key_env": "STORM_KEY",
                  "adapter": "openai_chat"}


def _edit(original: dict, i: int) -> bytes:
    """Edit i: a model, a price, a tier limit and a route timeout of its own; every even one adds a
    provider; the 5th and 15th are not YAML, the 10th breaks the schema (and so does i < 0)."""
    if i % 10 == 5:
        return b"models: [not, a, map\n"
    data = json.loads(json.dumps(original))
    data["models"][f"storm-{i}"] = {"provider": "deepseek", "upstream_model": "deepseek-v4", "context_window": 1000,
                                    "price_per_1m": {"input": f"0.{i:02d}", "output": "1.00"}}
    data["tiers"]["pro"]["requests_per_minute"] = -1 if i in (10, -1) else 100 + i
    data.setdefault("upstream", {})["timeout_seconds"] = 100 + i
    if i % 2 == 0:
        data["providers"]["stormprov"] = STORM_PROVIDER
    return yaml.safe_dump(data, sort_keys=False).encode()


async def _config_digests(session, gateway) -> list[str]:
    """The sha256 each sidecar process and the control plane report in clew_config_info."""
    ports = [int(gateway.env["CLEW_SIDECAR_METRICS_PORT"]) + i for i in range(gateway.sidecar_processes)]
    ports.append(int(gateway.env["CLEW_CONTROL_PLANE_METRICS_PORT"]))
    digests = []
    for port in ports:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            families = text_string_to_metric_families(await response.text())
        info = next(f for f in families if f.name == "clew_config_info")
        digests += [sample.labels["sha256"] for sample in info.samples]
    return digests


async def _envoy_dump(session, gateway) -> str:
    async with session.get(f"http://127.0.0.1:{gateway.env['CLEW_ADMIN_PORT']}/config_dump") as response:
        return await response.text()


async def _converged(session, gateway, content: bytes, timeout_seconds: int, providers: set) -> str:
    """"" once every process runs `content`, else what still differs (after 15 s)."""
    digest, differs = hashlib.sha256(content).hexdigest(), "not checked"
    for _ in range(60):
        digests, dump = await _config_digests(session, gateway), await _envoy_dump(session, gateway)
        clusters = {p for p in ("stormprov", "deepseek") if f'"name": "provider_{p}"' in dump}
        differs = "; ".join(problem for problem, bad in (
            (f"digests {digests} != {digest}", set(digests) != {digest}),
            (f"no {timeout_seconds}s route timeout in Envoy", f'"timeout": "{timeout_seconds}s"' not in dump),
            (f"Envoy's provider clusters {clusters} != {providers}", clusters != providers)) if bad)
        if not differs:
            return ""
        await asyncio.sleep(0.25)
    return differs


async def _traffic(session, gateway, headers: dict, stop: asyncio.Event) -> list[int]:
    statuses = []
    while not stop.is_set():
        status, _, _ = await chat(session, gateway.url, headers, model="deepseek-v4")
        statuses.append(status)
        await asyncio.sleep(TRAFFIC_PAUSE)
    return statuses


async def _storm(path, original: dict) -> None:
    for i in range(1, EDITS + 1):
        path.write_bytes(_edit(original, i))  # in place, as editors do: a reader may catch it half-written
        await asyncio.sleep(EDIT_EVERY)


async def test_reload_storm_ends_with_every_process_on_the_last_valid_config_and_traffic_served(ops_gateway):
    path, shipped = ops_gateway.config_path, ops_gateway.config_path.read_bytes()
    original = yaml.safe_load(shipped)
    engine = create_engine(ops_gateway.database_url, ops_gateway.backend.schema)
    async with aiohttp.ClientSession() as session:
        account = await new_account(session, ops_gateway.url)
        await set_tier(engine, account.id, "enterprise")  # the load must not meet the free tier's limit
        await engine.dispose()
        stop = asyncio.Event()
        traffic = asyncio.create_task(_traffic(session, ops_gateway, account.bearer, stop))
        try:
            await _storm(path, original)
            last = _edit(original, EDITS)
            assert await _converged(session, ops_gateway, last, 100 + EDITS, {"deepseek", "stormprov"}) == ""
            status, _, _ = await chat(session, ops_gateway.url, account.bearer, model=f"storm-{EDITS}")
            assert status == 200
            path.write_bytes(_edit(original, -1))
            await asyncio.sleep(2.5)  # longer than every follower's poll
            assert await _converged(session, ops_gateway, last, 100 + EDITS, {"deepseek", "stormprov"}) == ""
        finally:
            stop.set()
            statuses = await traffic
            path.write_bytes(shipped)
            restored = await _converged(session, ops_gateway, shipped, original.get("upstream", {}).get(
                "timeout_seconds", 120), {"deepseek"})
    assert len(statuses) > 10 and set(statuses) == {200}
    assert restored == ""
