"""Anthropic Messages (client) onto OpenAI chat (provider): requests, responses, streams, errors, token counts.

Fidelity is proven with the `anthropic` SDK itself: responses validate as `anthropic.types.Message`,
each stream event as a `RawMessageStreamEvent`, and the SDK's own client (over an in-memory transport)
sends its real request bodies through the translator and reads the translated answers and errors back.
"""
import json

import anthropic
import pydantic
import pytest
from anthropic.types import Message, RawMessageStreamEvent

from plugins.context import Reject
from plugins.translators import anthropic_messages_openai_chat as translator
from plugins.usage_estimate import prompt_tokens
from tests.plugins.translators.recorded import (
    anthropic_client,
    chunks,
    events,
    json_answer,
    load_json,
    sse_answer,
    translate_stream,
)

EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)


def request(**fields) -> dict:
    return {"model": "claude-sonnet-4-5", "max_tokens": 256,
            "messages": [{"role": "user", "content": "Hello"}], **fields}


def chat(body: dict) -> dict:
    return translator.to_provider_request(body, "gpt-4o-mini")


def rejection(body: dict) -> Reject:
    with pytest.raises(Reject) as caught:
        chat(body)
    assert caught.value.status == 400
    return caught.value


# ---- requests -------------------------------------------------------------------------------------

def test_plain_request_names_the_provider_model_and_keeps_max_tokens():
    assert chat(request()) == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}],
                               "max_tokens": 256}


def test_system_string_becomes_a_system_message_first():
    assert chat(request(system="Be brief."))["messages"][0] == {"role": "system", "content": "Be brief."}


def test_system_text_blocks_become_one_system_message():
    body = load_json("anthropic_request_tool_conversation.json")
    assert chat(body)["messages"][0] == {"role": "system",
                                         "content": "You are a helpful assistant.\nAnswer briefly."}


def test_base64_and_url_images_become_image_url_parts():
    first_user = chat(load_json("anthropic_request_tool_conversation.json"))["messages"][1]
    text, pixel, ant = first_user["content"]
    assert text == {"type": "text", "text": "What is in this picture, and what's the weather in Paris?"}
    assert pixel["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert ant == {"type": "image_url", "image_url": {
        "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}}


def test_assistant_tool_use_becomes_tool_calls_and_thinking_is_dropped():
    assistant = chat(load_json("anthropic_request_tool_conversation.json"))["messages"][2]
    assert assistant == {"role": "assistant", "content": "A red pixel and an ant. Let me check the weather.",
                         "tool_calls": [{"id": "toolu_01A09q90qw90lq917835lq9", "type": "function", "function": {
                             "name": "get_weather", "arguments": '{"location":"Paris, France","unit":"celsius"}'}}]}


def test_tool_result_becomes_a_tool_message_before_the_rest_of_the_user_turn():
    messages = chat(load_json("anthropic_request_tool_conversation.json"))["messages"]
    assert messages[3:] == [
        {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees\nlight rain"},
        {"role": "user", "content": "Thanks! Dress advice?"},
        {"role": "assistant", "content": "Take an umbrella."},
        {"role": "user", "content": "And tomorrow?"},
    ]


def test_images_of_a_tool_result_follow_it_in_a_user_message():
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/chart.png"}}
    body = request(messages=[
        {"role": "user", "content": "Plot it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "plot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": [{"type": "text", "text": "done"}, image]}]}])
    assert chat(body)["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "plot", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "done"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/chart.png"}}]},
    ]


def test_tools_become_function_tools():
    tools = chat(load_json("anthropic_request_tool_conversation.json"))["tools"]
    assert tools[0] == {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a given location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {
            "type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}}
    assert tools[1] == {"type": "function", "function": {
        "name": "get_time", "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, {"tool_choice": "auto"}),
    ({"type": "any"}, {"tool_choice": "required"}),
    ({"type": "tool", "name": "get_weather"},
     {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    ({"type": "none"}, {"tool_choice": "none"}),
    ({"type": "any", "disable_parallel_tool_use": True}, {"tool_choice": "required", "parallel_tool_calls": False}),
])
def test_tool_choice_maps_to_openai(choice, expected):
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    mapped = chat(request(tools=tools, tool_choice=choice))
    assert {key: mapped[key] for key in ("tool_choice", "parallel_tool_calls") if key in mapped} == expected


def test_sampling_options_stop_sequences_and_user_map_and_top_k_is_dropped():
    mapped = chat(load_json("anthropic_request_tool_conversation.json"))
    assert (mapped["temperature"], mapped["top_p"], mapped["stop"], mapped["user"]) == (
        0.5, 0.9, ["\n\nHuman:"], "user-1234")
    assert "top_k" not in mapped and "metadata" not in mapped and "system" not in mapped


def test_stream_asks_the_provider_for_usage():
    mapped = chat(request(stream=True))
    assert (mapped["stream"], mapped["stream_options"]) == (True, {"include_usage": True})


@pytest.mark.parametrize(("body", "message"), [
    ({"max_tokens": None}, "max_tokens: Field required"),
    ({"max_tokens": "100"}, "max_tokens: Input should be a valid integer"),
    ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
    ({"messages": None}, "messages: Field required"),
    ({"messages": []}, "messages: at least one message is required"),
    ({"messages": [{"role": "system", "content": "x"}]}, 'messages: Unexpected role "system"'),
    ({"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role: Input should be 'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content: Input should be a valid string"),
    ({"temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
    ({"stop_sequences": "STOP"}, "stop_sequences: Input should be a valid list"),
    ({"stream": "yes"}, "stream: Input should be a valid boolean"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
     "tools.0: tools of type 'web_search_20250305'"),
    ({"tools": [{"name": "f"}]}, "tools.0.input_schema: Field required"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice: Input should be an object of type"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
     "messages.0.content.0: content blocks of type 'document' are not supported"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "base64", "media_type": "image/bmp", "data": "Qk0="}}]}]},
     "messages.0.content.0.source.media_type: Input should be 'image/jpeg'"),
    ({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]},
     "messages.0.content.0.id: Field required"),
])
def test_invalid_requests_get_anthropic_style_400s(body, message):
    refused = rejection({**request(), **body})
    assert refused.message.startswith(message)
    status, error = translator.client_error(refused.status, refused.message, refused.code, refused.type)
    assert (status, error["error"]["type"]) == (400, "invalid_request_error")


def test_sdk_request_bodies_translate():
    """What the SDK really sends (tools, system blocks, images, tool results) is accepted."""
    sent = []

    def answer(body):
        sent.append(chat(body))
        return json_answer(200, translator.to_client_response(load_json("chat_completion_text.json"),
                                                              body["model"]))

    anthropic_client(answer).messages.create(
        model="claude-sonnet-4-5", max_tokens=100, system=[{"type": "text", "text": "Be brief."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image", "source": {
            "type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}]},
                  {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "f", "input": {}}]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "ok"}]}],
        tools=[{"name": "f", "input_schema": {"type": "object"}}], tool_choice={"type": "any"})
    assert [m["role"] for m in sent[0]["messages"]] == ["system", "user", "assistant", "tool"]
    assert sent[0]["tool_choice"] == "required"


# ---- count_tokens ---------------------------------------------------------------------------------

def test_count_tokens_is_the_quota_estimate_of_the_translated_prompt():
    body = load_json("anthropic_request_tool_conversation.json")
    expected = prompt_tokens({key: value for key, value in chat(body).items() if key in ("messages", "tools",
                                                                                         "tool_choice")})
    assert translator.count_tokens(body) == {"input_tokens": expected}


def test_count_tokens_needs_no_max_tokens_and_counts_tools():
    plain = translator.count_tokens({"model": "m", "messages": [{"role": "user", "content": "Hello"}]})
    with_tools = translator.count_tokens({"model": "m", "messages": [{"role": "user", "content": "Hello"}],
                                          "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]})
    assert 0 < plain["input_tokens"] < with_tools["input_tokens"]


def test_count_tokens_refuses_what_messages_refuses():
    with pytest.raises(Reject):
        translator.count_tokens({"model": "m", "messages": []})


# ---- responses ------------------------------------------------------------------------------------

def test_text_completion_becomes_a_message_the_sdk_validates():
    message = translator.to_client_response(load_json("chat_completion_text.json"), "claude-sonnet-4-5")
    parsed = Message.model_validate(message)
    assert parsed.id == "msg_chatcmplB9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert (parsed.model, parsed.role, parsed.stop_reason, parsed.stop_sequence) == (
        "claude-sonnet-4-5", "assistant", "end_turn", None)
    assert [(block.type, block.text) for block in parsed.content] == [("text", "The capital of France is Paris.")]


def test_usage_counts_cached_prompt_tokens_apart_as_anthropic_does():
    usage = translator.to_client_response(load_json("chat_completion_text.json"), "m")["usage"]
    assert usage == {"input_tokens": 93, "output_tokens": 8, "cache_creation_input_tokens": 0,
                     "cache_read_input_tokens": 1024}


def test_tool_calls_become_tool_use_blocks_with_parsed_input():
    parsed = Message.model_validate(translator.to_client_response(load_json("chat_completion_tool_calls.json"), "m"))
    assert parsed.stop_reason == "tool_use"
    assert [(b.type, b.id, b.name, b.input) for b in parsed.content] == [
        ("tool_use", "call_62136354", "get_weather", {"location": "Paris, France", "unit": "celsius"}),
        ("tool_use", "call_62136355", "get_time", {"timezone": "Europe/Paris"})]


def test_length_becomes_max_tokens_and_deepseek_cache_hits_are_read():
    message = translator.to_client_response(load_json("chat_completion_deepseek_length.json"), "m")
    assert message["stop_reason"] == "max_tokens"
    assert (message["usage"]["input_tokens"], message["usage"]["cache_read_input_tokens"]) == (12, 128)


@pytest.mark.parametrize(("choice", "stop"), [
    ({"finish_reason": "stop", "stop_reason": "\n\nHuman:"}, ("stop_sequence", "\n\nHuman:")),
    ({"finish_reason": "content_filter"}, ("refusal", None)),
    ({"finish_reason": None}, ("end_turn", None)),
])
def test_other_finish_reasons_map(choice, stop):
    completion = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}, **choice}]}
    message = translator.to_client_response(completion, "m")
    assert (message["stop_reason"], message["stop_sequence"]) == stop
    Message.model_validate(message)


def test_sdk_reads_a_translated_response():
    client = anthropic_client(lambda body: json_answer(200, translator.to_client_response(
        load_json("chat_completion_tool_calls.json"), body["model"])))
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                                     messages=[{"role": "user", "content": "Weather?"}])
    assert isinstance(message, Message) and message.content[0].input == {"location": "Paris, France",
                                                                          "unit": "celsius"}


# ---- streams --------------------------------------------------------------------------------------

def accumulate(frames: list[bytes]):
    """The SDK's own accumulator over our events (what `messages.stream()` does), each event validated."""
    snapshot, buffers = None, {}
    for _, data in events(frames):
        snapshot = anthropic.lib.streaming._messages.accumulate_event(
            event=EVENT.validate_python(data), current_snapshot=snapshot, json_bufs=buffers)
    return snapshot


def test_text_stream_has_anthropics_event_sequence():
    names = [name for name, _ in events(translate_stream(translator, "chat_stream_text.sse"))]
    assert names == ["message_start", "content_block_start", *["content_block_delta"] * 4, "content_block_stop",
                     "message_delta", "message_stop"]


def test_text_stream_accumulates_in_the_sdk():
    final = accumulate(translate_stream(translator, "chat_stream_text.sse"))
    assert final.content[0].text == "Hello! How can I help you today? 🙂"
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 19, 11)
    assert final.model == "client-model" and final.id == "msg_req0123"


def test_message_start_has_zero_usage_until_the_provider_reports_it():
    (name, start), *_ = events(translate_stream(translator, "chat_stream_text.sse"))
    assert start["message"]["usage"]["input_tokens"] == 0 and start["message"]["content"] == []


def test_fragmented_tool_call_arguments_stream_as_input_json_deltas():
    frames = translate_stream(translator, "chat_stream_tool_calls.sse")
    deltas = [data["delta"]["partial_json"] for name, data in events(frames) if name == "content_block_delta"]
    assert deltas == ['{"lo', 'cation": "Orl', 'éans, Fr', 'ance"}', '{"timezone"', ':"Europe/Paris"}']
    final = accumulate(frames)
    assert [(b.type, b.id, b.name, b.input) for b in final.content] == [
        ("tool_use", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", {"location": "Orléans, France"}),
        ("tool_use", "call_Xw2TqjOq0zAWcjU6GrvgRkTH", "get_time", {"timezone": "Europe/Paris"})]
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens) == (33, 64)


def test_each_block_starts_and_stops_in_order():
    frames = translate_stream(translator, "chat_stream_deepseek_text_then_tool.sse")
    blocks = [(name, data["index"]) for name, data in events(frames) if name.startswith("content_block_")
              and name != "content_block_delta"]
    assert blocks == [("content_block_start", 0), ("content_block_stop", 0), ("content_block_start", 1),
                      ("content_block_stop", 1)]
    final = accumulate(frames)
    assert final.content[0].text == "Let me check the weather."
    assert final.content[1].input == {"location": "Hangzhou"}


def test_cost_rides_on_message_delta_and_an_sse_comment_before_message_stop():
    frames = translate_stream(translator, "chat_stream_text.sse", cost_usd="0.000012")
    assert frames[-2:] == [b": x-cost-usd=0.000012\n\n", b'event: message_stop\ndata: {"type":"message_stop"}\n\n']
    delta = dict(events(frames))["message_delta"]
    assert delta["usage"]["cost_usd"] == "0.000012"
    EVENT.validate_python(delta)


def test_usage_given_to_finish_wins_and_is_normalized():
    stream = translator.StreamTranslator("m", "r1")
    for chunk in chunks("chat_stream_deepseek_text_then_tool.sse"):
        stream.feed(chunk)
    assert stream.usage() == {"input_tokens": 210, "output_tokens": 25, "cached_input_tokens": 192,
                              "reasoning_tokens": 0}
    frames = stream.finish({"prompt_tokens": 300, "completion_tokens": 30, "prompt_cache_hit_tokens": 100})
    assert dict(events(frames))["message_delta"]["usage"] == {
        "input_tokens": 200, "output_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 100}
    assert stream.usage()["cached_input_tokens"] == 100


def test_a_stream_without_chunks_still_closes_validly():
    stream = translator.StreamTranslator("m", "r2")
    assert stream.usage() is None
    final = accumulate(stream.finish(None, None))
    assert (final.content, final.stop_reason, final.usage.output_tokens) == ([], "end_turn", 0)
    assert stream.feed(chunks("chat_stream_text.sse")[1]) == [] and stream.finish() == []


def test_sdk_streams_a_translated_stream_and_reads_the_final_message():
    client = anthropic_client(lambda body: sse_answer(translate_stream(
        translator, "chat_stream_tool_calls.sse", body["model"], cost_usd="0.0004")))
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=100,
                                messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    assert [block.name for block in final.content] == ["get_weather", "get_time"]
    assert (final.model, final.usage.output_tokens) == ("claude-sonnet-4-5", 39)


def test_sdk_text_stream_yields_the_text():
    client = anthropic_client(lambda body: sse_answer(translate_stream(translator, "chat_stream_text.sse")))
    with client.messages.stream(model="m", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]) as stream:
        assert "".join(stream.text_stream) == "Hello! How can I help you today? 🙂"


def test_an_error_mid_stream_is_an_error_event_the_sdk_raises():
    stream = translator.StreamTranslator("m", "r3")
    frames = stream.feed(chunks("chat_stream_text.sse")[1]) + stream.error(502, "The provider failed.",
                                                                           "upstream_error")
    assert events(frames)[-1] == ("error", {"type": "error", "error": {"type": "api_error",
                                                                       "message": "The provider failed."}})
    assert frames[-1] == translator.stream_error("The provider failed.", "upstream_error")
    client = anthropic_client(lambda body: sse_answer(frames))
    with pytest.raises(anthropic.APIStatusError, match="The provider failed"):
        with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]) as s:
            s.get_final_message()


# ---- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "kind", "exception"), [
    (400, "invalid_value", "invalid_request_error", anthropic.BadRequestError),
    (401, "invalid_api_key", "authentication_error", anthropic.AuthenticationError),
    (403, "model_not_allowed", "permission_error", anthropic.PermissionDeniedError),
    (404, "model_not_found", "not_found_error", anthropic.NotFoundError),
    (413, "request_too_large", "request_too_large", anthropic.APIStatusError),
    (429, "rate_limit_exceeded", "rate_limit_error", anthropic.RateLimitError),
    (429, "insufficient_quota", "rate_limit_error", anthropic.RateLimitError),
    (500, "internal_error", "api_error", anthropic.InternalServerError),
    (502, "upstream_error", "api_error", anthropic.InternalServerError),
    (503, "no_provider", "overloaded_error", anthropic.InternalServerError),
    (504, "upstream_timeout", "timeout_error", anthropic.InternalServerError),
])
def test_errors_take_anthropics_shape_and_the_sdk_raises_its_class(status, code, kind, exception):
    answered_status, body = translator.client_error(status, "It went wrong.", code, None)
    assert (answered_status, body) == (status, {"type": "error", "error": {"type": kind,
                                                                           "message": "It went wrong."}})
    client = anthropic_client(lambda _: json_answer(answered_status, body))
    with pytest.raises(exception) as raised:
        client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.status_code == status and raised.value.body == body


def test_error_bodies_serialize_as_json():
    assert json.loads(json.dumps(translator.client_error(404, "No model 'x'.", "model_not_found", None)[1]))
