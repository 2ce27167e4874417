"""Tool calls on /v1/chat/completions pass through, with the official openai SDK through Envoy: the call
the simulator made (its function, its arguments), plain and streamed, and metered exactly."""
import json
from decimal import Decimal

from plugins.simulator.tool_arguments import arguments
from tests.e2e.chat import HELLO, expected_cost, ledger_entry, sdk
from tests.support.api import new_account

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}
LOOKUP = {"type": "function", "function": {
    "name": "lookup", "parameters": {"type": "object", "properties": {"query": {"type": "string"},
                                                                      "exact": {"type": "boolean"}}}}}
TOOLS = [WEATHER, LOOKUP]
NAMED = {"type": "function", "function": {"name": "lookup"}}


async def test_required_tool_choice_answers_with_the_first_tools_call_parsed_by_the_sdk(client, gateway):
    account = await new_account(client, gateway.url)
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="gpt-5.5", messages=HELLO, tools=TOOLS, tool_choice="required")
    completion = raw.parse()
    (call,) = completion.choices[0].message.tool_calls
    assert completion.choices[0].finish_reason == "tool_calls" and call.type == "function"
    assert call.function.name == "get_weather" and call.function.arguments == arguments(WEATHER["function"])
    assert json.loads(call.function.arguments) == {"city": "example", "days": 1}
    served = await ledger_entry(client, gateway, completion.id)
    assert served["tool_call"] == "get_weather"
    assert Decimal(raw.headers["x-cost-usd"]) == expected_cost(
        gateway, "gpt-5.5", served["prompt_tokens"], served["completion_tokens"])
    assert completion.usage.prompt_tokens == served["prompt_tokens"]


async def test_named_tool_choice_calls_that_function(client, gateway):
    account = await new_account(client, gateway.url)
    completion = await sdk(gateway.url, account.token).chat.completions.create(
        model="deepseek-v4", messages=HELLO, tools=TOOLS, tool_choice=NAMED)
    (call,) = completion.choices[0].message.tool_calls
    assert call.function.name == "lookup" and call.function.arguments == arguments(LOOKUP["function"])
    assert completion.model == "deepseek-v4"


async def test_a_tool_result_in_the_conversation_is_answered_with_text(client, gateway):
    account = await new_account(client, gateway.url)
    api = sdk(gateway.url, account.token)
    first = await api.chat.completions.create(model="gpt-5.5", messages=HELLO, tools=TOOLS, tool_choice="required")
    message = first.choices[0].message
    turn = [*HELLO, message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": '{"temperature": 21}'}]
    second = await api.chat.completions.create(model="gpt-5.5", messages=turn, tools=TOOLS)
    assert second.choices[0].finish_reason == "stop" and second.choices[0].message.content


async def test_streamed_tool_call_deltas_reassemble_to_the_simulators_arguments(client, gateway):
    account = await new_account(client, gateway.url)
    stream = await sdk(gateway.url, account.token).chat.completions.create(
        model="gpt-5.5", messages=HELLO, tools=TOOLS, tool_choice=NAMED, stream=True,
        stream_options={"include_usage": True})
    names, pieces, finish, usage, response_id = [], [], None, None, None
    async for chunk in stream:
        response_id = chunk.id
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                assert delta.index == 0
                names += [delta.function.name] if delta.function and delta.function.name else []
                pieces += [delta.function.arguments] if delta.function and delta.function.arguments else []
    assert names == ["lookup"] and finish == "tool_calls"
    assert "".join(pieces) == arguments(LOOKUP["function"]) and len(pieces) > 1
    served = await ledger_entry(client, gateway, response_id)
    assert (usage.prompt_tokens, usage.completion_tokens) == (served["prompt_tokens"], served["completion_tokens"])
    assert Decimal(usage.model_extra["cost_usd"]) == expected_cost(
        gateway, "gpt-5.5", served["prompt_tokens"], served["completion_tokens"])


async def test_the_sdks_stream_helper_assembles_the_tool_call(client, gateway):
    account = await new_account(client, gateway.url)
    async with sdk(gateway.url, account.token).chat.completions.stream(
            model="deepseek-v4", messages=HELLO, tools=TOOLS, tool_choice="required") as stream:
        completion = await stream.get_final_completion()
    (call,) = completion.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == arguments(WEATHER["function"])
