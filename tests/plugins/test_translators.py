"""Translators: picked by (client API, provider adapter); the identity one; a pure module adapted."""
import json
from types import SimpleNamespace

import pytest

from plugins import translators
from plugins.context import Reject
from plugins.runtime_config import ModelRoute
from plugins.sse import UsageStream
from plugins.translators.base import Usage
from plugins.translators.module import ModuleTranslator
from plugins.translators.openai_chat_openai_chat import TRANSLATOR as IDENTITY
from schemas.pricing import TokenPrice

MODEL = ModelRoute("groq/llama4", "groq", "meta-llama/llama-4", 100_000, TokenPrice.per_million("1", "2"))


def _runtime(adapter: str) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(providers={"groq": {"adapter": adapter}}))


def test_the_providers_adapter_picks_the_translator():
    assert translators.for_provider("openai_chat", _runtime("openai_chat"), MODEL) is IDENTITY


@pytest.mark.parametrize("client_api, adapter", [("openai_chat", "gemini"), ("klingon_chat", "openai_chat")])
def test_a_pair_no_translator_serves_is_a_400_naming_the_model(client_api, adapter):
    with pytest.raises(Reject) as raised:
        translators.for_provider(client_api, _runtime(adapter), MODEL)
    assert (raised.value.status, raised.value.code, raised.value.param) == (400, "model_not_supported", "model")
    assert "groq/llama4" in raised.value.message and adapter in raised.value.message


# --- openai_chat -> openai_chat ----------------------------------------------------------------------

def test_identity_request_names_the_providers_model_and_asks_a_stream_for_usage():
    body = {"model": "groq/llama4", "stream": True, "stream_options": {"include_usage": False}, "messages": []}
    assert IDENTITY.request(body, MODEL) == {"model": "meta-llama/llama-4", "stream": True, "messages": [],
                                             "stream_options": {"include_usage": True}}
    assert "stream_options" not in IDENTITY.request({"model": "x", "messages": []}, MODEL)


def test_identity_response_names_the_clients_model_and_keeps_the_rest_byte_for_byte():
    body = b'{"id":"c1","model":"meta-llama/llama-4","choices":[{"message":{"content":"\\"model\\": 1"}}]}'
    assert IDENTITY.response(body, "groq/llama4") == body.replace(b"meta-llama/llama-4", b"groq/llama4")


def test_identity_stream_is_the_byte_level_usage_stream():
    assert isinstance(IDENTITY.stream("groq/llama4", "req-1", False, lambda usage: "0"), UsageStream)


@pytest.mark.parametrize("usage, normalized", [
    ({"prompt_tokens": 10, "completion_tokens": 5}, Usage(10, 5, 0)),
    ({"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}}, Usage(10, 5, 4)),
    ({"prompt_tokens": 10, "completion_tokens": 5, "prompt_cache_hit_tokens": 6}, Usage(10, 5, 6)),
    ({"prompt_tokens": "10"}, Usage(0, 0, 0)),
    (None, Usage()),
])
def test_identity_usage_is_normalized_with_cached_input_tokens(usage, normalized):
    assert IDENTITY.usage(usage) == normalized


def test_identity_errors_are_openai_shaped():
    assert IDENTITY.error(429, "slow down", "rate_limit_exceeded", "requests") == (429, {"error": {
        "message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}})


# --- a pure module, adapted --------------------------------------------------------------------------

class _Events:
    """A StreamTranslator as the pure modules write it: chat chunks in, the client's frames out."""

    def __init__(self, model: str, request_id: str):
        self.model, self.request_id, self.finished = model, request_id, None

    def feed(self, chunk: dict) -> list[bytes]:
        text = "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])
        return [f"event: text\ndata: {text}\n\n".encode()] if text else []

    def finish(self, usage, cost_usd) -> list[bytes]:
        self.finished = (usage, cost_usd)
        return [f"event: done\ndata: {json.dumps(usage)} {cost_usd}\n\n".encode()]


FAKE = SimpleNamespace(
    to_provider_request=lambda body, model: {"model": model, "messages": body["input"], "stream": body["stream"]},
    to_client_response=lambda chat, model: {"model": model, "text": chat["choices"][0]["message"]["content"]},
    StreamTranslator=_Events,
    client_error=lambda status, message, code, type_, param=None: (status, {"type": "error",
                                                                            "error": {"message": message}}))


def _chat_chunk(**body) -> bytes:
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def test_a_module_translators_request_goes_to_the_providers_model_and_asks_a_stream_for_usage():
    adapted = ModuleTranslator(FAKE, "fake_api", "openai_chat")
    assert adapted.request({"input": [], "stream": True}, MODEL) == {
        "model": "meta-llama/llama-4", "messages": [], "stream": True, "stream_options": {"include_usage": True}}


def test_a_module_translators_response_is_the_clients_json():
    adapted = ModuleTranslator(FAKE, "fake_api", "openai_chat")
    answer = adapted.response(b'{"choices":[{"message":{"content":"hi"}}]}', "groq/llama4")
    assert json.loads(answer) == {"model": "groq/llama4", "text": "hi"}
    with pytest.raises(Reject) as raised:
        adapted.response(b"<html>", "groq/llama4")
    assert raised.value.status == 502


def test_a_module_translators_stream_frames_each_event_and_ends_with_the_priced_usage():
    stream = ModuleTranslator(FAKE, "fake_api", "openai_chat").stream("groq/llama4", "req-1", False,
                                                                       lambda usage: str(usage["prompt_tokens"]))
    whole = (_chat_chunk(choices=[{"delta": {"content": "Hel"}}]) + _chat_chunk(choices=[{"delta": {"content": "lo"}}])
             + _chat_chunk(choices=[], usage={"prompt_tokens": 7, "completion_tokens": 2}) + b"data: [DONE]\n\n")
    out = stream.feed(whole[:30]) + stream.feed(whole[30:]) + stream.finish()
    assert out == (b"event: text\ndata: Hel\n\nevent: text\ndata: lo\n\n"
                   b'event: done\ndata: {"prompt_tokens": 7, "completion_tokens": 2} 7\n\n')
    assert stream.done and stream.usage == {"prompt_tokens": 7, "completion_tokens": 2}
    assert stream.completion_tokens() == 2  # "Hello": 5 bytes relayed, estimated for a cut stream


def test_a_module_translators_stream_cut_short_is_not_done_and_reports_its_text():
    stream = ModuleTranslator(FAKE, "fake_api", "openai_chat").stream("m", "req-1", False, lambda usage: "0")
    stream.feed(_chat_chunk(choices=[{"delta": {"content": "x" * 41}}]))
    assert not stream.done and stream.usage is None and stream.completion_tokens() == 11
    assert stream.error_event("gone", "upstream_disconnected").startswith(b"event: error\ndata: ")


def test_a_client_apis_errors_take_its_translators_shape(monkeypatch):
    monkeypatch.setattr(translators, "_TRANSLATORS", dict(translators.registered()))
    translators.register(ModuleTranslator(FAKE, "fake_api", "openai_chat"))
    assert translators.client_error("fake_api")(404, "nope", "model_not_found", None) == (
        404, {"type": "error", "error": {"message": "nope"}})
    assert translators.client_error(None)(404, "nope", "model_not_found", None)[1]["error"]["code"] == "model_not_found"
