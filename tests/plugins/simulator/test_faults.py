"""Faults on demand: per request through headers, per provider or model through /_sim/faults."""
import time

import pytest

from tests.plugins.simulator.conftest import chat_body, post_chat


async def _add_rule(sim, **rule) -> dict:
    resp = await sim.post("/_sim/faults", json=rule)
    assert resp.status == 200
    return await resp.json()


async def test_429_header_answers_rate_limit_with_retry_after(sim):
    resp = await post_chat(sim, headers={"x-sim-status": "429"})
    error = (await resp.json())["error"]
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"


async def test_retry_after_header_sets_retry_after(sim):
    resp = await post_chat(sim, headers={"x-sim-status": "429", "x-sim-retry-after": "7"})
    assert resp.headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_header_answers_server_error(sim, status):
    resp = await post_chat(sim, chat_body(stream=True), headers={"x-sim-status": str(status)})
    assert resp.status == status and (await resp.json())["error"]["type"] == "server_error"


async def test_provider_rule_applies_only_to_that_provider_and_times_expires_it(sim):
    rule = await _add_rule(sim, provider="groq", status=429, retry_after=30, times=2)
    assert rule["id"] and rule["provider"] == "groq" and rule["times"] == 2
    assert (await post_chat(sim, provider="openai")).status == 200
    for _ in range(2):
        resp = await post_chat(sim, provider="groq", path="/openai/v1/chat/completions")
        assert resp.status == 429 and resp.headers["Retry-After"] == "30"
    assert (await post_chat(sim, provider="groq", path="/openai/v1/chat/completions")).status == 200
    assert (await (await sim.get("/_sim/faults")).json())["data"] == []


async def test_model_rule_applies_only_to_that_model_until_cleared(sim):
    await _add_rule(sim, model="llama-3.3-70b", status=503)
    assert (await post_chat(sim, chat_body(model="gpt-4o-mini"))).status == 200
    for _ in range(3):
        assert (await post_chat(sim, chat_body(model="llama-3.3-70b"), provider="groq")).status == 503
    assert (await sim.delete("/_sim/faults")).status == 200
    assert (await post_chat(sim, chat_body(model="llama-3.3-70b"), provider="groq")).status == 200


async def test_latency_rule_delays_without_failing(sim):
    await _add_rule(sim, provider="mistral", latency_ms=120)
    started = time.monotonic()
    resp = await post_chat(sim, provider="mistral")
    assert resp.status == 200 and time.monotonic() - started >= 0.11


async def test_header_status_wins_and_leaves_rules_untouched(sim):
    await _add_rule(sim, status=500, times=1)
    assert (await post_chat(sim, headers={"x-sim-status": "429"})).status == 429
    assert (await post_chat(sim)).status == 500
    assert (await post_chat(sim)).status == 200


async def test_rules_are_listed_and_deleted_by_id(sim):
    first = await _add_rule(sim, provider="a", status=500)
    second = await _add_rule(sim, model="b", latency_ms=5)
    listed = (await (await sim.get("/_sim/faults")).json())["data"]
    assert [rule["id"] for rule in listed] == [first["id"], second["id"]]
    assert (await sim.delete(f"/_sim/faults/{first['id']}")).status == 200
    assert (await sim.delete(f"/_sim/faults/{first['id']}")).status == 404
    assert [rule["id"] for rule in (await (await sim.get("/_sim/faults")).json())["data"]] == [second["id"]]


@pytest.mark.parametrize("rule", [{}, {"provider": "groq"}, {"status": 200}, {"status": 429, "times": 0},
                                  {"status": "429"}, {"status": 500, "colour": "red"}, [1]])
async def test_malformed_rule_is_400(sim, rule):
    resp = await sim.post("/_sim/faults", json=rule)
    assert resp.status == 400 and "error" in await resp.json()


async def test_non_json_rule_is_400(sim):
    assert (await sim.post("/_sim/faults", data=b"\xff")).status == 400
