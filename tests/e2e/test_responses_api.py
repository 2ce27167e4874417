"""The OpenAI Responses API (POST /v1/responses) through Envoy, with the official `openai` SDK unchanged but
for its base URL and key: plain, multi-turn, streamed and function-calling requests, the stateless
refusals, and what each costs against the provider's own count."""
import json
from decimal import Decimal

import openai
import pytest

from plugins.simulator.tool_arguments import arguments
from tests.e2e.chat import sdk, simulator_ledger
from tests.e2e.translated import (
    MODEL,
    WEATHER,
    cost_of,
    cut_call,
    ledger_row,
    provider_call,
    read_then_hang_up,
    sse_events,
)
from tests.support.api import call, create_key, new_account

TOOL = {"type": "function", "name": "get_weather", "description": "The forecast", "parameters": WEATHER}


async def _api(client, gateway) -> openai.AsyncOpenAI:
    key = (await create_key(client, gateway.url, await new_account(client, gateway.url)))["key"]
    return sdk(gateway.url, key)


async def test_a_response_is_answered_and_priced_at_the_providers_tokens(client, gateway, db):
    api = await _api(client, gateway)
    raw = await api.responses.with_raw_response.create(model=MODEL, input="Hello!", instructions="Be brief.")
    response = raw.parse()
    served = await provider_call(client, gateway, raw.headers["x-request-id"])
    assert response.status == "completed" and response.model == MODEL and response.output_text
    assert response.instructions == "Be brief."  # the request's fields are echoed
    assert (response.usage.input_tokens, response.usage.output_tokens) == (served["prompt_tokens"],
                                                                           served["completion_tokens"])
    assert Decimal(raw.headers["x-cost-usd"]) == cost_of(gateway, served) > 0
    assert (raw.headers["x-tier"], raw.headers["x-key-source"], raw.headers["x-ratelimit-limit"]) == ("free", "pool",
                                                                                                       "10")
    row = await ledger_row(db, raw.headers["x-request-id"])
    assert (row.model, row.status, row.streamed) == (MODEL, 200, False)
    assert (row.prompt_tokens, row.completion_tokens) == (served["prompt_tokens"], served["completion_tokens"])
    assert row.cost_nanos == int(cost_of(gateway, served) * 10 ** 9)


async def test_a_conversation_of_input_items_reaches_the_provider_whole(client, gateway):
    api = await _api(client, gateway)
    one = await api.responses.with_raw_response.create(model=MODEL, input="How are you?")
    turns = await api.responses.with_raw_response.create(model=MODEL, input=[
        {"role": "developer", "content": "You are terse."},
        {"role": "user", "content": "Hi, I am planning a trip to Lisbon in May."},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Lovely. What do you need?"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "How are you?"}]}])
    single = await provider_call(client, gateway, one.headers["x-request-id"])
    whole = await provider_call(client, gateway, turns.headers["x-request-id"])
    assert whole["prompt_tokens"] > single["prompt_tokens"]
    assert turns.parse().usage.input_tokens == whole["prompt_tokens"] and turns.parse().output_text


async def test_a_streamed_response_arrives_as_the_responses_events_and_sums_up(client, gateway, db):
    api = await _api(client, gateway)
    async with api.responses.stream(model=MODEL, input="Hello!") as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    # A stream's response id is made of its request id's letters and digits (the provider's id comes later).
    [served] = [e for e in await simulator_ledger(client, gateway) if final.id == "resp_" + _alnum(e.get("request_id"))]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert {"response.output_item.added", "response.content_part.added", "response.output_text.delta",
            "response.output_text.done", "response.output_item.done"} <= set(kinds)
    assert final.status == "completed" and final.output_text
    assert (final.usage.input_tokens, final.usage.output_tokens) == (served["prompt_tokens"],
                                                                     served["completion_tokens"])
    row = await ledger_row(db, served["request_id"])
    assert (row.model, row.status, row.streamed, row.completion_tokens) == (MODEL, 200, True,
                                                                           served["completion_tokens"])


def _alnum(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isalnum())


async def test_a_streams_events_are_numbered_and_its_cost_is_in_the_completed_event(client, gateway):
    key = (await create_key(client, gateway.url, await new_account(client, gateway.url)))["key"]
    status, events, comments, headers = await sse_events(client, f"{gateway.url}/v1/responses", {
        "authorization": f"Bearer {key}"}, {"model": MODEL, "input": "Hello!", "stream": True})
    served = await provider_call(client, gateway, headers["x-request-id"])
    assert status == 200 and "content-length" not in headers
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(kind == data["type"] for kind, data in events)
    completed = events[-1][1]
    assert completed["type"] == "response.completed"
    assert Decimal(completed["response"]["usage"]["cost_usd"]) == cost_of(gateway, served) > 0
    assert comments == [f": x-cost-usd={completed['response']['usage']['cost_usd']}"]


async def test_a_function_call_and_its_output_make_a_conversation(client, gateway):
    api = await _api(client, gateway)
    question = {"role": "user", "content": "Weather in Paris for 3 days?"}
    first = await api.responses.create(model=MODEL, input=[question], tools=[TOOL], tool_choice="required")
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == json.loads(arguments({"parameters": WEATHER}))
    follow_up = await api.responses.create(model=MODEL, tools=[TOOL], input=[
        question, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 C"}])
    assert follow_up.status == "completed" and follow_up.output_text


async def test_a_streamed_function_call_is_assembled_by_the_sdk(client, gateway):
    api = await _api(client, gateway)
    async with api.responses.stream(model=MODEL, input="Weather?", tools=[TOOL],
                                    tool_choice={"type": "function", "name": "get_weather"}) as stream:
        final = await stream.get_final_response()
    [call] = [item for item in final.output if item.type == "function_call"]
    assert json.loads(call.arguments) == json.loads(arguments({"parameters": WEATHER}))


@pytest.mark.parametrize("stateful", [{"previous_response_id": "resp_123"}, {"store": True}])
async def test_stored_state_is_refused_with_a_400_saying_the_gateway_is_stateless(client, gateway, stateful):
    api = await _api(client, gateway)
    with pytest.raises(openai.BadRequestError) as raised:
        await api.responses.create(model=MODEL, input="Hello!", **stateful)
    error = raised.value.body
    assert error["param"] == next(iter(stateful)) and "stateless" in error["message"]


async def test_an_unknown_model_raises_not_found(client, gateway):
    api = await _api(client, gateway)
    with pytest.raises(openai.NotFoundError) as raised:
        await api.responses.create(model="gpt-nonesuch", input="Hello!")
    assert raised.value.body["code"] == "model_not_found"


async def test_a_stream_the_client_cuts_is_billed_for_the_prompt_and_what_it_relayed(client, gateway, db):
    key = (await create_key(client, gateway.url, await new_account(client, gateway.url)))["key"]
    headers = {"authorization": f"Bearer {key}", "x-sim-chunks": "30", "x-sim-completion-tokens": "60",
               "x-sim-chunk-interval-ms": "100"}
    request_id, _ = await read_then_hang_up(client, f"{gateway.url}/v1/responses", headers, {
        "model": MODEL, "input": "Hello!", "stream": True}, events=10)
    served = await cut_call(client, gateway, request_id)
    row = await ledger_row(db, request_id)
    assert (row.model, row.status, row.streamed) == (MODEL, 499, True)
    assert row.prompt_tokens == served["prompt_tokens"] > 0
    assert 0 < row.completion_tokens <= 2 * served["completion_tokens"]
    assert row.cost_nanos == int(cost_of(gateway, row._mapping) * 10 ** 9) > 0


async def test_clew_ocr_reads_an_image_in_a_response_billed_to_the_model_that_served(client, gateway, db):
    api = await _api(client, gateway)
    raw = await api.responses.with_raw_response.create(model="clew/ocr", input=[{"role": "user", "content": [
        {"type": "input_image", "image_url": "https://example.com/receipt.jpg"}]}])
    served = await provider_call(client, gateway, raw.headers["x-request-id"])
    assert raw.parse().model == "deepseek/ocr" and served["provider"] == "deepseek"
    assert Decimal(raw.headers["x-cost-usd"]) == cost_of(gateway, served, "deepseek/ocr") > 0
    row = await ledger_row(db, raw.headers["x-request-id"])
    assert (row.model, row.status, row.prompt_tokens) == ("deepseek/ocr", 200, served["prompt_tokens"])


async def test_usage_reports_the_responses_by_model(client, gateway, db):
    account = await new_account(client, gateway.url)
    api = sdk(gateway.url, (await create_key(client, gateway.url, account))["key"])
    raw = await api.responses.with_raw_response.create(model=MODEL, input="Hello!")
    row = await ledger_row(db, raw.headers["x-request-id"])
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    [by_model] = [m for m in usage["by_model"] if m["model"] == MODEL]
    assert by_model["requests"] == 1 and by_model["prompt_tokens"] == row.prompt_tokens
