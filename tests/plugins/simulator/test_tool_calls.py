"""Function tool calls on chat completions: when a request gets one, its message and delta formats, validation."""
import json

import pytest

from tests.plugins.simulator.conftest import chat_body, post_chat, sse_events

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "required": ["city", "days", "unit", "hourly", "tags"], "properties": {
        "city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}, "unit": {"enum": ["c", "f"]},
        "hourly": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"}}}}}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"zone": {"type": ["string", "null"]}, "at": {
        "type": "object", "properties": {"hour": {"type": "number"}}}}}}}
WEATHER_ARGS = {"city": "example", "days": 1, "unit": "c", "hourly": True, "tags": ["example"]}


def tool_body(**fields) -> dict:
    return chat_body(tools=[WEATHER, TIME], **fields)


async def completion(sim, body: dict, headers=None) -> dict:
    resp = await post_chat(sim, body, headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_required_calls_the_first_tool_with_arguments_from_its_schema(sim):
    body = await completion(sim, tool_body(tool_choice="required"))
    [choice] = body["choices"]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and len(call["id"]) == 29 and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == WEATHER_ARGS
    assert body["usage"]["completion_tokens"] == -(-len(call["function"]["arguments"]) // 4)


async def test_named_tool_choice_calls_that_tool_filling_every_property_when_none_is_required(sim):
    body = await completion(sim, tool_body(tool_choice={"type": "function", "function": {"name": "get_time"}}))
    [call] = body["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_time"
    assert json.loads(call["function"]["arguments"]) == {"zone": "example", "at": {"hour": 1.5}}


async def test_auto_answers_text_unless_the_header_asks_for_a_call(sim):
    text = await completion(sim, tool_body())
    assert text["choices"][0]["finish_reason"] == "stop" and text["choices"][0]["message"]["content"]
    assert "tool_calls" not in text["choices"][0]["message"]
    called = await completion(sim, tool_body(tool_choice="auto"), headers={"x-sim-tool-call": "1"})
    assert called["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    none = await completion(sim, tool_body(tool_choice="none"), headers={"x-sim-tool-call": "1"})
    assert none["choices"][0]["finish_reason"] == "stop"


async def test_same_request_gets_the_same_call(sim):
    first, second = [await completion(sim, tool_body(tool_choice="required")) for _ in range(2)]
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


async def test_tool_definitions_count_toward_prompt_tokens(sim):
    plain = await completion(sim, chat_body())
    with_tools = await completion(sim, tool_body())
    assert with_tools["usage"]["prompt_tokens"] > plain["usage"]["prompt_tokens"]


async def test_streamed_call_uses_openai_delta_format(sim):
    resp = await post_chat(sim, tool_body(tool_choice="required", stream=True, stream_options={"include_usage": True}))
    events = sse_events(await resp.text())
    assert events[-1] == "[DONE]"
    head, *fragments, finish, usage = events[:-1]
    [call] = head["choices"][0]["delta"]["tool_calls"]
    assert head["choices"][0]["delta"]["role"] == "assistant" and head["choices"][0]["delta"]["content"] is None
    assert call["index"] == 0 and call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": ""}
    assert len(fragments) > 1
    pieces = [chunk["choices"][0]["delta"]["tool_calls"] for chunk in fragments]
    assert all(set(p[0]) == {"index", "function"} and p[0]["index"] == 0 for p in pieces)
    assert json.loads("".join(p[0]["function"]["arguments"] for p in pieces)) == WEATHER_ARGS
    assert finish["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0


async def test_max_tokens_cuts_the_arguments_with_finish_reason_length(sim):
    body = await completion(sim, tool_body(tool_choice="required", max_tokens=2))
    [call] = body["choices"][0]["message"]["tool_calls"]
    assert body["choices"][0]["finish_reason"] == "length" and body["usage"]["completion_tokens"] == 2
    assert len(call["function"]["arguments"]) <= 8


async def test_ledger_records_which_tool_was_called(sim):
    await completion(sim, tool_body(tool_choice="required"))
    await completion(sim, chat_body())
    entries = (await (await sim.get("/_sim/ledger")).json())["data"]
    assert [e["tool_call"] for e in entries] == ["get_weather", None]


async def test_tool_results_in_the_conversation_are_accepted(sim):
    messages = [{"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    body = await completion(sim, tool_body(messages=messages))
    assert body["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("fields,param", [
    ({"tools": "get_weather"}, "tools"),
    ({"tools": []}, "tools"),
    ({"tools": [{"function": WEATHER["function"]}]}, "tools[0].type"),
    ({"tools": [{"type": "retrieval", "function": WEATHER["function"]}]}, "tools[0].type"),
    ({"tools": [{"type": "function"}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "get weather"}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]}, "tools[0].function.parameters"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": "always"}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function"}}, "tool_choice"),
    ({"messages": [{"role": "tool", "content": "sunny"}]}, "messages[0].tool_call_id"),
])
async def test_malformed_tools_are_400_naming_the_parameter(sim, fields, param):
    resp = await post_chat(sim, chat_body(**fields))
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["param"] == param and error["type"] == "invalid_request_error"
