"""Non-streaming chat completions: shape, determinism, token accounting, auth and validation."""
import json

import pytest

from tests.plugins.simulator.conftest import MESSAGES, chat_body, post_chat


async def test_non_streaming_response_has_openai_shape_and_consistent_usage(sim):
    resp = await post_chat(sim)
    body = await resp.json()
    assert resp.status == 200 and resp.content_type == "application/json"
    assert body["id"].startswith("chatcmpl-sim-") and body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini" and isinstance(body["created"], int) and body["system_fingerprint"]
    [choice] = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert 8 <= usage["completion_tokens"] <= 64
    # 4 per message + ceil(len/4): "Be brief." (9 chars) → 4+3, "Say hello to the gateway." (25) → 4+7
    assert usage["prompt_tokens"] == 18
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert "base_resp" not in body


async def test_same_request_gets_same_content_and_usage(sim):
    first, second = [await (await post_chat(sim)).json() for _ in range(2)]
    assert first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["usage"] == second["usage"] and first["id"] != second["id"]
    other = await (await post_chat(sim, chat_body(messages=[{"role": "user", "content": "different"}]))).json()
    assert other["choices"][0]["message"]["content"] != first["choices"][0]["message"]["content"]


async def test_max_tokens_caps_completion_with_finish_reason_length(sim):
    body = await (await post_chat(sim, chat_body(max_tokens=3))).json()
    assert body["usage"]["completion_tokens"] == 3 and body["choices"][0]["finish_reason"] == "length"
    assert len(body["choices"][0]["message"]["content"].split()) == 3


async def test_max_completion_tokens_is_honoured_like_max_tokens(sim):
    body = await (await post_chat(sim, chat_body(max_completion_tokens=2))).json()
    assert body["usage"]["completion_tokens"] == 2 and body["choices"][0]["finish_reason"] == "length"


async def test_token_override_headers_set_exact_usage(sim):
    headers = {"x-sim-prompt-tokens": "1000", "x-sim-completion-tokens": "7"}
    body = await (await post_chat(sim, headers=headers)).json()
    assert body["usage"] == {"prompt_tokens": 1000, "completion_tokens": 7, "total_tokens": 1007}
    assert len(body["choices"][0]["message"]["content"].split()) == 7


async def test_image_parts_count_fixed_tokens(sim):
    content = [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}]
    body = await (await post_chat(sim, chat_body(messages=[{"role": "user", "content": content}]))).json()
    assert body["usage"]["prompt_tokens"] == 4 + 1 + 85


@pytest.mark.parametrize("provider,path", [
    ("deepseek", "/chat/completions"), ("groq", "/openai/v1/chat/completions"), ("mistral", "/v1/chat/completions"),
    ("nvidia", "/v1/chat/completions"), ("anyone", "/v1/chat/completions"),
])
async def test_every_provider_path_serves_chat(sim, provider, path):
    resp = await post_chat(sim, provider=provider, path=path)
    assert resp.status == 200 and (await resp.json())["object"] == "chat.completion"


async def test_minimax_response_carries_base_resp(sim):
    body = await (await post_chat(sim, provider="minimax", path="/v1/text/chatcompletion_v2")).json()
    assert body["base_resp"] == {"status_code": 0, "status_msg": "success"}
    assert body["object"] == "chat.completion"


@pytest.mark.parametrize("method,path", [("POST", "/openai/v1/moderations"), ("GET", "/openai/v1/chat/completions"),
                                         ("GET", "/nowhere"), ("POST", "/_sim/ledger")])
async def test_unknown_routes_are_json_404(sim, method, path):
    resp = await sim.request(method, path, headers={"Authorization": "Bearer k"})
    body = await resp.json()
    assert resp.status == 404 and body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("key", [None, "invalid-byok-key"])
async def test_missing_or_invalid_key_is_401(sim, key):
    resp = await post_chat(sim, key=key)
    error = (await resp.json())["error"]
    assert resp.status == 401
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key" and error["param"] is None


async def test_non_bearer_authorization_is_401(sim):
    resp = await sim.post("/openai/v1/chat/completions", json=chat_body(), headers={"Authorization": "Basic abc"})
    assert resp.status == 401


@pytest.mark.parametrize("body,param", [
    ("{not json", None),
    ([1, 2], None),
    ({"messages": MESSAGES}, "model"),
    ({"model": 5, "messages": MESSAGES}, "model"),
    ({"model": "m", "messages": "hello"}, "messages"),
    ({"model": "m", "messages": []}, "messages"),
    ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
    ({"model": "m", "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
    ({"model": "m", "messages": MESSAGES, "max_tokens": -5}, "max_tokens"),
    ({"model": "m", "messages": MESSAGES, "max_tokens": "10"}, "max_tokens"),
    ({"model": "m", "messages": MESSAGES, "stream": "yes"}, "stream"),
    ({"model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": 1}},
     "stream_options.include_usage"),
    ({"model": "m", "messages": MESSAGES, "stream_options": {"include_usage": True}}, "stream_options"),
])
async def test_malformed_body_is_400_naming_the_param(sim, body, param):
    resp = await post_chat(sim, body if isinstance(body, str) else json.dumps(body))
    error = (await resp.json())["error"]
    assert resp.status == 400
    assert error["type"] == "invalid_request_error" and error["param"] == param


@pytest.mark.parametrize("header,value", [("x-sim-chunks", "0"), ("x-sim-latency-ms", "soon"),
                                          ("x-sim-status", "200")])
async def test_malformed_sim_header_is_400_naming_it(sim, header, value):
    resp = await post_chat(sim, headers={header: value})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == header


async def test_assistant_turn_with_null_content_is_accepted(sim):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": []},
                {"role": "user", "content": "again"}]
    assert (await post_chat(sim, chat_body(messages=messages))).status == 200


async def test_json_answer_is_compressed_when_the_client_accepts_it_as_real_providers_do(sim):
    compressed = await post_chat(sim, headers={"Accept-Encoding": "gzip"})
    plain = await post_chat(sim, headers={"Accept-Encoding": "identity"})
    assert compressed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert (await compressed.json())["usage"] == (await plain.json())["usage"]
