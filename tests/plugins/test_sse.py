"""A stream as it passes the sidecar: the model id rewritten in every chunk, the completion relayed
measured for billing a stream cut short, usage priced and dropped when the client did not ask."""
import json

from plugins.context import RequestState
from plugins.sse import UsageStream
from plugins.usage_estimate import Counted, counted, prompt_tokens

UPSTREAM = "meta-llama/llama-4-maverick-17b-128e-instruct"


def _chunk(delta: dict, **extra) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "model": UPSTREAM,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _usage_chunk() -> bytes:
    body = {"id": "c1", "model": UPSTREAM, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _stream(wants_usage: bool = False) -> UsageStream:
    return UsageStream(wants_usage, lambda usage: "0.5", "groq/llama4")


def _models(out: bytes) -> set[str]:
    return {json.loads(e[6:])["model"] for e in out.split(b"\n\n") if e.startswith(b"data: {")}


def test_every_chunk_names_the_clients_model_and_keeps_its_content():
    stream = _stream(wants_usage=True)
    out = stream.feed(_chunk({"content": "Hi \"model\": \"x\""}) + _usage_chunk() + b"data: [DONE]\n\n")
    assert _models(out) == {"groq/llama4"}
    assert json.loads(out.split(b"\n\n")[0][6:])["choices"][0]["delta"]["content"] == 'Hi "model": "x"'
    assert b'"cost_usd":"0.5"' in out and out.endswith(b": x-cost-usd=0.5\n\ndata: [DONE]\n\n")


def test_the_usage_chunk_is_dropped_when_the_client_did_not_ask():
    out = _stream().feed(_chunk({"content": "Hi"}) + _usage_chunk())
    assert b'"usage"' not in out and b"Hi" in out


def test_relayed_text_tool_arguments_and_reasoning_are_measured_in_utf8_bytes():
    stream = _stream()
    stream.feed(_chunk({"role": "assistant", "content": ""}) + _chunk({"content": "abcd"})
                + _chunk({"reasoning_content": "ยอด"})  # 3 Thai characters, 9 bytes
                + _chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{\"a\":1}"}}]}))
    assert stream.relayed_bytes == 4 + 9 + 1 + 7 and stream.completion_tokens() == 6


def test_a_partial_event_waits_for_its_end():
    stream = _stream()
    whole = _chunk({"content": "abcdefgh"})
    assert stream.feed(whole[:20]) == b"" and stream.relayed_bytes == 0
    assert _models(stream.feed(whole[20:])) == {"groq/llama4"} and stream.relayed_bytes == 8


def test_a_stream_cut_before_its_usage_counts_the_prompt_estimate_and_the_relayed_text():
    stream = _stream()
    stream.feed(_chunk({"content": "x" * 41}))
    request = {"messages": [{"role": "user", "content": "Hello!"}]}
    state = RequestState(sse=stream, request=request, usage={})
    assert counted(state) == Counted(prompt_tokens(request), 11, 0, estimated=True)
    assert prompt_tokens(request) == 4 + 2


def test_a_stream_whose_usage_arrived_counts_the_providers_usage():
    stream = _stream()
    stream.feed(_chunk({"content": "x" * 41}) + _usage_chunk())
    state = RequestState(sse=stream, request={"messages": []}, usage=stream.usage)
    assert counted(state) == Counted(7, 3)


def test_the_prompt_estimate_counts_tools_and_non_latin_text_by_bytes():
    plain = {"messages": [{"role": "user", "content": "ยอดรวม"}]}  # 6 characters, 18 bytes
    assert prompt_tokens(plain) == 4 + 5
    with_tools = {**plain, "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
    assert prompt_tokens(with_tools) > prompt_tokens(plain)
