"""Streaming: the SSE event sequence OpenAI sends, chunking, latency and cuts mid-stream."""
import time

import aiohttp
import pytest

from tests.plugins.simulator.conftest import chat_body, post_chat, sse_events


async def _stream(sim, headers=None, **fields):
    resp = await post_chat(sim, chat_body(stream=True, **fields), headers=headers)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    return sse_events(await resp.text())


async def test_stream_without_include_usage_has_no_usage_field(sim):
    events = await _stream(sim)
    *chunks, done = events
    assert done == "[DONE]"
    assert all(chunk["object"] == "chat.completion.chunk" and "usage" not in chunk for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["delta"] == {} and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({chunk["id"] for chunk in chunks}) == 1


async def test_stream_with_include_usage_ends_with_usage_chunk(sim):
    events = await _stream(sim, stream_options={"include_usage": True})
    *chunks, usage_chunk, done = events
    assert done == "[DONE]"
    assert all(chunk["usage"] is None for chunk in chunks)
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] > 0
    content = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert usage_chunk["usage"]["completion_tokens"] == len(content.split())


async def test_stream_content_equals_non_streaming_content(sim):
    events = await _stream(sim)
    streamed = "".join(event["choices"][0]["delta"].get("content", "") for event in events[:-1])
    whole = await (await post_chat(sim)).json()
    assert streamed == whole["choices"][0]["message"]["content"]


async def test_chunk_count_header_sets_content_chunks(sim):
    events = await _stream(sim, headers={"x-sim-chunks": "3"})
    # role chunk + 3 content chunks + finish chunk + [DONE]
    assert len(events) == 1 + 3 + 1 + 1


async def test_default_chunk_count_comes_from_app_defaults(sim):
    assert len(await _stream(sim)) == 1 + 5 + 1 + 1


async def test_latency_header_delays_first_byte(sim):
    started = time.monotonic()
    resp = await post_chat(sim, chat_body(stream=True), headers={"x-sim-latency-ms": "150"})
    assert time.monotonic() - started >= 0.14
    await resp.read()


async def test_chunk_interval_header_spaces_chunks(sim):
    started = time.monotonic()
    await _stream(sim, headers={"x-sim-chunks": "4", "x-sim-chunk-interval-ms": "30"})
    assert time.monotonic() - started >= 0.11


async def test_disconnect_after_ends_cleanly_without_finish_or_done(sim):
    events = await _stream(sim, headers={"x-sim-disconnect-after": "2"}, stream_options={"include_usage": True})
    assert len(events) == 1 + 2 and "[DONE]" not in events
    assert all(event["choices"][0]["finish_reason"] is None for event in events)


async def test_reset_after_aborts_the_connection(sim):
    resp = await post_chat(sim, chat_body(stream=True), headers={"x-sim-reset-after": "2"})
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientError):
        await resp.read()


async def test_max_tokens_in_stream_finishes_with_length(sim):
    events = await _stream(sim, max_tokens=2, stream_options={"include_usage": True})
    assert events[-3]["choices"][0]["finish_reason"] == "length"
    assert events[-2]["usage"]["completion_tokens"] == 2
