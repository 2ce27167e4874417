"""The Anthropic Messages API (POST /v1/messages, /v1/messages/count_tokens) through Envoy, with the
official `anthropic` SDK unchanged but for its base URL and key: answers, streams, tools, errors the SDK
raises as its own classes, and what each request costs, against the provider's own count."""
import json
from decimal import Decimal

import anthropic
import pytest

from plugins.simulator.tool_arguments import arguments
from plugins.usage_estimate import prompt_tokens
from tests.e2e.chat import account_on_tier
from tests.e2e.translated import (
    MODEL,
    WEATHER,
    anthropic_sdk,
    cost_of,
    cut_call,
    ledger_row,
    no_provider_call,
    provider_call,
    provider_calls,
    read_then_hang_up,
    sse_events,
)
from tests.support.api import call, create_key, new_account
from tests.support.ledger import insert_usage

HELLO = [{"role": "user", "content": "Hello!"}]
TOOL = {"name": "get_weather", "description": "The forecast", "input_schema": WEATHER}


async def _key(client, gateway) -> str:
    return (await create_key(client, gateway.url, await new_account(client, gateway.url)))["key"]


async def test_a_message_is_answered_and_priced_at_the_providers_tokens(client, gateway, db):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    raw = await api.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=HELLO)
    message = (await raw.parse())
    served = await provider_call(client, gateway, raw.headers["x-request-id"])
    assert message.type == "message" and message.model == MODEL and message.stop_reason in ("end_turn", "max_tokens")
    assert message.content[0].type == "text" and message.content[0].text
    assert (message.usage.input_tokens, message.usage.output_tokens) == (served["prompt_tokens"],
                                                                         served["completion_tokens"])
    assert Decimal(raw.headers["x-cost-usd"]) == cost_of(gateway, served) > 0
    assert (raw.headers["x-tier"], raw.headers["x-key-source"], raw.headers["x-ratelimit-limit"]) == ("free", "pool",
                                                                                                       "10")
    row = await ledger_row(db, raw.headers["x-request-id"])
    assert (row.model, row.status, row.streamed) == (MODEL, 200, False)
    assert (row.prompt_tokens, row.completion_tokens) == (served["prompt_tokens"], served["completion_tokens"])
    assert row.cost_nanos == int(cost_of(gateway, served) * 10 ** 9)


async def test_the_system_prompt_reaches_the_provider(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    plain = await api.messages.with_raw_response.create(model=MODEL, max_tokens=32, messages=HELLO)
    system = await api.messages.with_raw_response.create(
        model=MODEL, max_tokens=32, messages=HELLO,
        system=[{"type": "text", "text": "You answer in one short sentence, always in French."}])
    without = await provider_call(client, gateway, plain.headers["x-request-id"])
    with_system = await provider_call(client, gateway, system.headers["x-request-id"])
    assert with_system["prompt_tokens"] > without["prompt_tokens"]
    assert (await system.parse()).usage.input_tokens == with_system["prompt_tokens"]


async def test_a_streamed_message_arrives_as_anthropics_events_and_sums_up(client, gateway, db):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    async with api.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
        assert "content-length" not in stream.response.headers
    served = await provider_call(client, gateway, request_id)
    assert text and final.content[0].text == text and final.stop_reason in ("end_turn", "max_tokens")
    assert (final.usage.input_tokens, final.usage.output_tokens) == (served["prompt_tokens"],
                                                                     served["completion_tokens"])
    row = await ledger_row(db, request_id)
    assert (row.model, row.status, row.streamed, row.completion_tokens) == (MODEL, 200, True,
                                                                           served["completion_tokens"])


async def test_a_streams_cost_is_in_its_message_delta_and_a_comment(client, gateway):
    key = await _key(client, gateway)
    status, events, comments, headers = await sse_events(
        client, f"{gateway.url}/v1/messages", {"x-api-key": key, "anthropic-version": "2023-06-01"},
        {"model": MODEL, "max_tokens": 64, "messages": HELLO, "stream": True})
    served = await provider_call(client, gateway, headers["x-request-id"])
    kinds = [kind for kind, _ in events]
    assert status == 200 and kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert {"content_block_start", "content_block_delta", "content_block_stop"} <= set(kinds)
    delta = events[-2][1]
    assert Decimal(delta["usage"]["cost_usd"]) == cost_of(gateway, served) > 0
    assert comments == [f": x-cost-usd={delta['usage']['cost_usd']}"]
    assert (headers["x-tier"], headers["x-key-source"]) == ("free", "pool")


async def test_a_named_tool_is_called_with_the_providers_arguments(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    message = await api.messages.create(model=MODEL, max_tokens=200, messages=[
        {"role": "user", "content": "Weather in Paris for 3 days?"}], tools=[TOOL],
        tool_choice={"type": "tool", "name": "get_weather"})
    [use] = [block for block in message.content if block.type == "tool_use"]
    assert message.stop_reason == "tool_use" and use.name == "get_weather"
    assert use.input == json.loads(arguments({"parameters": WEATHER}))
    follow_up = await api.messages.create(model=MODEL, max_tokens=64, tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Paris for 3 days?"},
        {"role": "assistant", "content": [use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]}])
    assert follow_up.stop_reason in ("end_turn", "max_tokens") and follow_up.content[0].text


async def test_a_streamed_tool_call_arrives_as_input_json_deltas(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    async with api.messages.stream(model=MODEL, max_tokens=200, tools=[TOOL], tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = await stream.get_final_message()
    [use] = [block for block in final.content if block.type == "tool_use"]
    assert final.stop_reason == "tool_use" and use.input == json.loads(arguments({"parameters": WEATHER}))


async def test_count_tokens_answers_the_estimate_without_a_provider_or_a_bill(client, gateway, db):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    raw = await api.messages.with_raw_response.count_tokens(model=MODEL, messages=HELLO, system="Be brief.")
    expected = prompt_tokens({"messages": [{"role": "system", "content": "Be brief."}, *HELLO]})
    assert (await raw.parse()).input_tokens == expected > 0
    assert raw.headers["x-ratelimit-limit"] == "10" and raw.headers["x-tier"] == "free"
    assert await no_provider_call(client, gateway, raw.headers["x-request-id"])
    assert await ledger_row(db, raw.headers["x-request-id"], timeout=1) is None


async def test_count_tokens_has_a_rate_limit_of_its_own(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    for _ in range(10):
        await api.messages.count_tokens(model=MODEL, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError):
        await api.messages.count_tokens(model=MODEL, messages=HELLO)
    assert (await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO)).content  # messages' own limit


async def test_an_unknown_model_raises_not_found_in_anthropics_shape(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    for request in (api.messages.create(model="claude-nonesuch", max_tokens=16, messages=HELLO),
                    api.messages.count_tokens(model="claude-nonesuch", messages=HELLO)):
        with pytest.raises(anthropic.NotFoundError) as raised:
            await request
        assert raised.value.body["type"] == "error" and raised.value.body["error"]["type"] == "not_found_error"
        assert "claude-nonesuch" in raised.value.body["error"]["message"]


async def test_a_wrong_key_raises_authentication_error(client, gateway):
    api = anthropic_sdk(gateway.url, "sk-clew-" + "x" * 40)
    with pytest.raises(anthropic.AuthenticationError) as raised:
        await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert raised.value.body == {"type": "error", "error": {"type": "authentication_error",
                                                           "message": raised.value.body["error"]["message"]}}


async def test_an_invalid_request_raises_bad_request_error(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    with pytest.raises(anthropic.BadRequestError) as raised:
        await api.messages.create(model=MODEL, max_tokens=0, messages=HELLO)
    assert raised.value.body["error"] == {"type": "invalid_request_error",
                                          "message": "max_tokens: Input should be greater than or equal to 1"}


async def test_the_free_tiers_eleventh_message_raises_rate_limit_error_with_retry_after(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    for _ in range(10):
        await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as raised:
        await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert raised.value.body["error"]["type"] == "rate_limit_error"
    assert int(raised.value.response.headers["retry-after"]) >= 1


async def test_an_exhausted_quota_raises_rate_limit_error(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "free")
    await insert_usage(db, account.id, 100_000)  # the free tier's whole month
    api = anthropic_sdk(gateway.url, (await create_key(client, gateway.url, account))["key"])
    with pytest.raises(anthropic.RateLimitError) as raised:
        await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert raised.value.body["error"]["type"] == "rate_limit_error" and "quota" in raised.value.body["error"]["message"]


async def test_a_provider_failure_raises_internal_server_error(client, gateway):
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    with pytest.raises(anthropic.InternalServerError) as raised:
        await api.messages.create(model=MODEL, max_tokens=16, messages=HELLO, extra_headers={"x-sim-status": "500"})
    assert raised.value.status_code == 502 and raised.value.body["error"]["type"] == "api_error"


async def test_a_stream_the_client_cuts_is_billed_for_the_prompt_and_what_it_relayed(client, gateway, db):
    key = await _key(client, gateway)
    headers = {"x-api-key": key, "x-sim-chunks": "30", "x-sim-completion-tokens": "60",
               "x-sim-chunk-interval-ms": "100"}
    request_id, _ = await read_then_hang_up(client, f"{gateway.url}/v1/messages", headers, {
        "model": MODEL, "max_tokens": 100, "messages": HELLO, "stream": True}, events=8)
    served = await cut_call(client, gateway, request_id)
    row = await ledger_row(db, request_id)
    assert (row.model, row.status, row.streamed) == (MODEL, 499, True)
    assert row.prompt_tokens == served["prompt_tokens"] > 0
    assert 0 < row.completion_tokens <= 2 * served["completion_tokens"]
    assert row.cost_nanos == int(cost_of(gateway, row._mapping) * 10 ** 9) > 0


async def test_a_message_to_clew_free_falls_back_to_the_next_candidate(client, gateway, db):
    status, _, _ = await call(client, "POST", f"{gateway.simulator_url}/_sim/faults", json={
        "provider": "groq", "model": "llama-3.1-8b-instant", "status": 500, "times": 1})
    assert status in (200, 201)
    api = anthropic_sdk(gateway.url, await _key(client, gateway))
    raw = await api.messages.with_raw_response.create(model="clew/free", max_tokens=32, messages=HELLO)
    message = await raw.parse()
    failed, served = await provider_calls(client, gateway, raw.headers["x-request-id"])
    assert (failed["provider"], failed["status"], served["provider"], served["status"]) == ("groq", 500, "nvidia", 200)
    assert message.model == "nvidia/llama-3.1-8b" and message.content[0].text
    row = await ledger_row(db, raw.headers["x-request-id"])
    assert (row.model, row.status, row.prompt_tokens) == ("nvidia/llama-3.1-8b", 200, served["prompt_tokens"])


async def test_envoys_own_413_is_anthropic_shaped(client, gateway):
    key = await _key(client, gateway)
    huge = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "x" * (9 * 1024 * 1024)}]}
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/messages", json=huge, headers={"x-api-key": key})
    assert (status, body) == (413, {"type": "error", "error": {"type": "request_too_large",
                                                                "message": "Request body too large"}})
