"""OpenAI Responses (client) onto OpenAI chat (provider): requests, responses, streams, errors.

Fidelity is proven with the `openai` SDK itself: responses validate as `openai.types.responses.Response`,
each stream event as a `ResponseStreamEvent`, and the SDK's own client (over an in-memory transport)
sends its real request bodies through the translator and accumulates the translated stream.
"""
import openai
import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from plugins.context import Reject
from plugins.translators import openai_responses_openai_chat as translator
from tests.plugins.translators.recorded import (
    chunks,
    events,
    json_answer,
    load_json,
    openai_client,
    sse_answer,
    translate_stream,
)

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)


def chat(body: dict) -> dict:
    return translator.to_provider_request(body, "deepseek-chat")


def rejection(body: dict) -> Reject:
    with pytest.raises(Reject) as caught:
        chat(body)
    assert caught.value.status == 400
    return caught.value


# ---- requests -------------------------------------------------------------------------------------

def test_string_input_becomes_one_user_message_for_the_provider_model():
    assert chat({"model": "gpt-4.1", "input": "Hello"}) == {
        "model": "deepseek-chat", "messages": [{"role": "user", "content": "Hello"}]}


def test_instructions_become_the_system_message_and_developer_turns_system_ones():
    messages = chat(load_json("responses_request_tool_conversation.json"))["messages"]
    assert messages[:2] == [{"role": "system", "content": "You are a coding agent."},
                            {"role": "system", "content": "Use the tools."}]


def test_input_text_and_image_parts_become_chat_parts():
    user = chat(load_json("responses_request_tool_conversation.json"))["messages"][2]
    assert user == {"role": "user", "content": [
        {"type": "text", "text": "What's in this image, and the weather in Paris?"},
        {"type": "image_url", "image_url": {
            "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
            "detail": "low"}}]}


def test_function_calls_join_the_assistant_turn_and_outputs_become_tool_messages():
    messages = chat(load_json("responses_request_tool_conversation.json"))["messages"]
    assert messages[3:] == [
        {"role": "assistant", "content": "An ant. Checking the weather.", "tool_calls": [
            {"id": "call_12345xyz", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"location":"Paris, France"}'}},
            {"id": "call_12345abc", "type": "function",
             "function": {"name": "get_time", "arguments": '{"timezone":"Europe/Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_12345xyz", "content": '{"temperature": 15}'},
        {"role": "tool", "tool_call_id": "call_12345abc", "content": "14:05"},
        {"role": "user", "content": "Dress advice?"},
    ]


def test_a_function_call_without_an_assistant_message_gets_its_own():
    messages = chat({"input": [{"role": "user", "content": "Hi"}, {
        "type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]})["messages"]
    assert messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}


def test_flat_function_tools_become_chat_tools_and_the_named_choice_maps():
    mapped = chat(load_json("responses_request_tool_conversation.json"))
    assert mapped["tools"][0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Get current temperature for a given location.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"],
                       "additionalProperties": False}, "strict": True}}
    assert mapped["tools"][1] == {"type": "function", "function": {
        "name": "get_time", "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}
    assert mapped["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert mapped["parallel_tool_calls"] is False


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_string_tool_choices_pass_through(choice):
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    assert chat({"input": "x", "tools": tools, "tool_choice": choice})["tool_choice"] == choice


def test_options_map_and_stream_asks_for_usage():
    mapped = chat(load_json("responses_request_tool_conversation.json"))
    assert {key: mapped[key] for key in ("max_tokens", "temperature", "top_p", "user", "stream", "stream_options")} \
        == {"max_tokens": 500, "temperature": 0.2, "top_p": 0.95, "user": "user-1234", "stream": True,
            "stream_options": {"include_usage": True}}
    assert mapped["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "advice", "schema": {"type": "object", "properties": {"advice": {"type": "string"}}}, "strict": True}}
    assert not {"input", "instructions", "max_output_tokens", "store", "reasoning", "text"} & set(mapped)


@pytest.mark.parametrize(("body", "param", "message"), [
    ({"previous_response_id": "resp_123"}, "previous_response_id", "'previous_response_id' is not supported"),
    ({"store": True}, "store", "'store: true' is not supported"),
    ({"input": None}, "input", "Missing required parameter: 'input'."),
    ({"input": 5}, "input", "Invalid type for 'input'"),
    ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "Invalid value: 'robot'"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]", "Invalid 'input[0]': item references"),
    ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0].type", "Invalid 'input[0].type'"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
     "input[0].content[0].type", "Invalid 'input[0].content[0].type'"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]}]},
     "input[0].content[0].image_url", "Invalid 'input[0].content[0]'"),
    ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id",
     "Missing required parameter: 'input[0].call_id'."),
    ({"max_output_tokens": 10}, "max_output_tokens",
     "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10 instead."),
    ({"temperature": 3}, "temperature", "Invalid 'temperature': decimal above maximum value."),
    ({"stream": "yes"}, "stream", "Invalid type for 'stream': expected a boolean, but got a string instead."),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type", "Invalid 'tools[0].type'"),
    ({"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "file_search"}}, "tool_choice",
     "Invalid 'tool_choice'"),
])
def test_invalid_or_stateful_requests_get_openai_400s(body, param, message):
    refused = rejection({"model": "gpt-4.1", "input": "Hi", **body})
    assert (refused.param, refused.message.startswith(message)) == (param, True), refused.message
    status, error = translator.client_error(refused.status, refused.message, refused.code, refused.type,
                                            refused.param)
    assert (status, error["error"]["type"], error["error"]["param"]) == (400, "invalid_request_error", param)


def test_store_false_and_reasoning_items_are_accepted():
    mapped = chat({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}, {"role": "user", "content": "Hi"}],
                   "store": False})
    assert mapped["messages"] == [{"role": "user", "content": "Hi"}]


def test_sdk_request_bodies_translate():
    sent = []

    def answer(body):
        sent.append(chat(body))
        return json_answer(200, translator.to_client_response(load_json("chat_completion_text.json"), body["model"]))

    openai_client(answer).responses.create(
        model="gpt-4.1", instructions="Be brief.", max_output_tokens=64, store=False,
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hi"},
                                            {"type": "input_image", "image_url": "data:image/png;base64,iVBO",
                                             "detail": "auto"}]},
               {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
               {"type": "function_call_output", "call_id": "call_1", "output": "ok"}],
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}],
        tool_choice="required")
    assert [m["role"] for m in sent[0]["messages"]] == ["system", "user", "assistant", "tool"]
    assert (sent[0]["max_tokens"], sent[0]["tool_choice"]) == (64, "required")


# ---- responses ------------------------------------------------------------------------------------

def test_text_completion_becomes_a_response_the_sdk_validates():
    response = Response.model_validate(translator.to_client_response(load_json("chat_completion_text.json"),
                                                                     "gpt-4.1"))
    assert (response.id, response.object, response.status, response.model, response.created_at) == (
        "resp_chatcmplB9MHDbslfkBeAs8l4bebGdFOJ6PeG", "response", "completed", "gpt-4.1", 1741570283)
    assert response.output_text == "The capital of France is Paris."
    assert response.output[0].type == "message" and response.output[0].status == "completed"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.input_tokens_details.cached_tokens,
            usage.output_tokens_details.reasoning_tokens) == (1117, 8, 1125, 1024, 0)


def test_tool_calls_become_function_call_items():
    response = Response.model_validate(translator.to_client_response(
        load_json("chat_completion_tool_calls.json"), "gpt-4.1"))
    assert [(item.type, item.call_id, item.name, item.arguments, item.status) for item in response.output] == [
        ("function_call", "call_62136354", "get_weather", '{"location": "Paris, France", "unit": "celsius"}',
         "completed"),
        ("function_call", "call_62136355", "get_time", '{"timezone":"Europe/Paris"}', "completed")]
    assert response.status == "completed" and response.output_text == ""


def test_length_makes_the_response_incomplete_and_deepseek_cache_hits_are_read():
    response = Response.model_validate(translator.to_client_response(
        load_json("chat_completion_deepseek_length.json"), "deepseek/chat"))
    assert (response.status, response.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert response.usage.input_tokens_details.cached_tokens == 128


def test_the_request_is_echoed_when_given():
    body = load_json("responses_request_tool_conversation.json")
    response = Response.model_validate(translator.to_client_response(
        load_json("chat_completion_text.json"), "gpt-4.1", body))
    assert (response.instructions, response.max_output_tokens, response.temperature, response.tool_choice.name,
            [tool.name for tool in response.tools]) == ("You are a coding agent.", 500, 0.2, "get_weather",
                                                        ["get_weather", "get_time"])


def test_sdk_reads_a_translated_response():
    client = openai_client(lambda body: json_answer(200, translator.to_client_response(
        load_json("chat_completion_text.json"), body["model"])))
    response = client.responses.create(model="gpt-4.1", input="Capital of France?")
    assert (response.output_text, response.usage.input_tokens) == ("The capital of France is Paris.", 1117)


# ---- streams --------------------------------------------------------------------------------------

def validated(frames: list[bytes]) -> list:
    """Each event parsed with the SDK's ResponseStreamEvent union; sequence numbers count from 0."""
    parsed = [EVENT.validate_python(data) for _, data in events(frames)]
    assert [event.sequence_number for event in parsed] == list(range(len(parsed)))
    return parsed


def test_text_stream_has_the_responses_event_sequence():
    parsed = validated(translate_stream(translator, "chat_stream_text.sse"))
    assert [event.type for event in parsed] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 4, "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    done, completed = parsed[-4], parsed[-1]
    assert done.text == completed.response.output_text == "Hello! How can I help you today? 🙂"
    assert (completed.response.usage.input_tokens, completed.response.usage.output_tokens) == (19, 11)
    assert parsed[0].response.status == "in_progress" and parsed[0].response.id == completed.response.id


def test_fragmented_tool_call_arguments_stream_as_argument_deltas():
    parsed = validated(translate_stream(translator, "chat_stream_tool_calls.sse"))
    deltas = [event.delta for event in parsed if event.type == "response.function_call_arguments.delta"]
    assert deltas == ['{"lo', 'cation": "Orl', 'éans, Fr', 'ance"}', '{"timezone"', ':"Europe/Paris"}']
    done = [(event.output_index, event.arguments) for event in parsed
            if event.type == "response.function_call_arguments.done"]
    assert done == [(0, '{"location": "Orléans, France"}'), (1, '{"timezone":"Europe/Paris"}')]
    final = parsed[-1].response
    assert [(item.call_id, item.name, item.status) for item in final.output] == [
        ("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", "completed"),
        ("call_Xw2TqjOq0zAWcjU6GrvgRkTH", "get_time", "completed")]
    assert final.usage.input_tokens_details.cached_tokens == 64


def test_text_then_tool_call_are_two_items_in_order():
    parsed = validated(translate_stream(translator, "chat_stream_deepseek_text_then_tool.sse"))
    added = [(event.output_index, event.item.type) for event in parsed if event.type == "response.output_item.added"]
    assert added == [(0, "message"), (1, "function_call")]
    final = parsed[-1].response
    assert final.output_text == "Let me check the weather." and final.output[1].arguments == '{"location": "Hangzhou"}'


def test_cost_rides_on_the_completed_usage_and_an_sse_comment_before_it():
    frames = translate_stream(translator, "chat_stream_text.sse", cost_usd="0.000031")
    assert frames[-2] == b": x-cost-usd=0.000031\n\n"
    completed = validated(frames)[-1]
    assert completed.response.usage.cost_usd == "0.000031"


def test_a_cut_output_ends_with_response_incomplete():
    stream = translator.StreamTranslator("m", "r1")
    frames = stream.feed(chunks("chat_stream_text.sse")[1]) + stream.feed(
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    last = validated(frames + stream.finish({"prompt_tokens": 5, "completion_tokens": 16}))[-1]
    assert (last.type, last.response.status, last.response.incomplete_details.reason) == (
        "response.incomplete", "incomplete", "max_output_tokens")


def test_usage_given_to_finish_wins_and_is_normalized():
    stream = translator.StreamTranslator("m", "r2")
    frames = [frame for chunk in chunks("chat_stream_deepseek_text_then_tool.sse") for frame in stream.feed(chunk)]
    assert stream.usage() == {"input_tokens": 210, "output_tokens": 25, "cached_input_tokens": 192,
                              "reasoning_tokens": 0}
    completed = validated(frames + stream.finish({"prompt_tokens": 300, "completion_tokens": 30}))[-1]
    assert completed.response.usage.total_tokens == 330 and stream.usage()["input_tokens"] == 300


def test_a_stream_without_chunks_still_closes_validly():
    stream = translator.StreamTranslator("m", "r3")
    parsed = validated(stream.finish(None, None))
    assert [event.type for event in parsed] == ["response.created", "response.in_progress", "response.completed"]
    assert stream.finish() == [] and stream.feed(chunks("chat_stream_text.sse")[1]) == []


def test_sdk_stream_helper_accumulates_the_translated_stream():
    client = openai_client(lambda body: sse_answer(translate_stream(
        translator, "chat_stream_deepseek_text_then_tool.sse", body["model"], cost_usd="0.0001")))
    with client.responses.stream(model="deepseek/chat", input="Weather in Hangzhou?") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == final.output_text == "Let me check the weather."
    assert (final.output[1].name, final.output[1].arguments, final.model) == (
        "get_weather", '{"location": "Hangzhou"}', "deepseek/chat")


def test_sdk_create_stream_yields_typed_events():
    client = openai_client(lambda body: sse_answer(translate_stream(translator, "chat_stream_text.sse")))
    kinds = [event.type for event in client.responses.create(model="m", input="Hi", stream=True)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"


def test_an_error_mid_stream_is_an_error_event_then_response_failed():
    stream = translator.StreamTranslator("m", "r4")
    frames = stream.feed(chunks("chat_stream_text.sse")[1]) + stream.error(502, "The provider failed.",
                                                                           "upstream_error")
    *_, error, failed = validated(frames)
    assert (error.type, error.message, error.code) == ("error", "The provider failed.", "upstream_error")
    assert (failed.type, failed.response.status, failed.response.error.code, failed.response.error.message) == (
        "response.failed", "failed", "server_error", "The provider failed.")
    client = openai_client(lambda body: sse_answer(frames))
    assert [event.type for event in client.responses.create(model="m", input="Hi", stream=True)][-2:] == [
        "error", "response.failed"]
    assert stream.finish() == []


def test_a_stream_echoes_the_request_it_answers():
    body = load_json("responses_request_tool_conversation.json")
    stream = translator.StreamTranslator("gpt-4.1", "r5", body)
    created, *_, completed = validated(stream.feed(chunks("chat_stream_text.sse")[1]) + stream.finish())
    for event in (created, completed):
        assert (event.response.instructions, event.response.max_output_tokens, event.response.tool_choice.name) == (
            "You are a coding agent.", 500, "get_weather")


def test_reasoning_tokens_are_reported():
    completion = {**load_json("chat_completion_text.json"), "usage": {
        "prompt_tokens": 10, "completion_tokens": 300, "completion_tokens_details": {"reasoning_tokens": 256}}}
    usage = Response.model_validate(translator.to_client_response(completion, "m")).usage
    assert (usage.output_tokens, usage.output_tokens_details.reasoning_tokens) == (300, 256)


# ---- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "type_", "exception"), [
    (400, "invalid_value", None, openai.BadRequestError),
    (401, "invalid_api_key", None, openai.AuthenticationError),
    (404, "model_not_found", None, openai.NotFoundError),
    (429, "insufficient_quota", "insufficient_quota", openai.RateLimitError),
    (502, "upstream_error", None, openai.InternalServerError),
])
def test_errors_keep_openais_shape_and_the_sdk_raises_its_class(status, code, type_, exception):
    answered, body = translator.client_error(status, "It went wrong.", code, type_)
    assert answered == status and body["error"]["code"] == code and body["error"]["message"] == "It went wrong."
    client = openai_client(lambda _: json_answer(answered, body))
    with pytest.raises(exception) as raised:
        client.responses.create(model="m", input="Hi")
    assert raised.value.code == code

