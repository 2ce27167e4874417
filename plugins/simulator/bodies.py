"""The response bodies, field for field as OpenAI sends them (what the official SDK parses)."""
import json

from plugins.simulator.completions import Completion

SYSTEM_FINGERPRINT = "fp_clewsim"
DONE = b"data: [DONE]\n\n"
# Compact like OpenAI's own output: parsers that scan for `"usage":{` see what they would upstream.
# One reusable encoder: json.dumps with arguments builds a new encoder on every call.
dumps = json.JSONEncoder(separators=(",", ":")).encode
# What real providers send on every answer about their own limits (OpenAI and Groq name them so,
# Anthropic its own way, some a Retry-After even on success): the gateway must not pass them on.
PROVIDER_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "10000", "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms", "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-tokens": "1999000", "x-ratelimit-reset-tokens": "30ms",
    "anthropic-ratelimit-requests-limit": "4000", "anthropic-ratelimit-requests-remaining": "3999",
    "retry-after": "0",
}


def completion_body(response_id: str, created: int, model: str, provider: str, completion: Completion) -> dict:
    body = {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message(completion),
            "logprobs": None,
            "finish_reason": completion.finish_reason,
        }],
        "usage": completion.usage(),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if provider == "minimax":
        body["base_resp"] = {"status_code": 0, "status_msg": "success"}  # MiniMax's chatcompletion_v2 adds it
    return body


def message(completion: Completion) -> dict:
    """The assistant message: text, or a function call with null content as OpenAI sends it."""
    if completion.tool_call is None:
        return {"role": "assistant", "content": completion.content}
    call = completion.tool_call
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": completion.arguments}}]}


def tool_call_head(completion: Completion) -> dict:
    """The first delta of a streamed tool call: who is called, with empty arguments that later deltas extend."""
    call = completion.tool_call
    return {"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}]}


class ChunkEncoder:
    """Encodes the SSE events of one stream; the fields every chunk shares are serialised once."""

    def __init__(self, response_id: str, created: int, model: str, include_usage: bool):
        shared = {"id": response_id, "object": "chat.completion.chunk", "created": created, "model": model,
                  "system_fingerprint": SYSTEM_FINGERPRINT}
        self._head = "data: " + dumps(shared)[:-1] + ',"choices":'
        # With include_usage OpenAI sends "usage": null on every chunk before the usage chunk.
        self._tail = ',"usage":null}\n\n' if include_usage else "}\n\n"

    def delta(self, delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return (self._head + "[" + dumps(choice) + "]" + self._tail).encode()

    def content(self, text: str) -> bytes:
        """The hot path (most chunks of a stream): only the text needs encoding."""
        return (self._head + '[{"index":0,"delta":{"content":' + dumps(text)
                + '},"logprobs":null,"finish_reason":null}]' + self._tail).encode()

    def arguments(self, text: str) -> bytes:
        """A fragment of a streamed tool call's arguments."""
        return self.delta({"tool_calls": [{"index": 0, "function": {"arguments": text}}]})

    def usage(self, usage: dict) -> bytes:
        return (self._head + '[],"usage":' + dumps(usage) + "}\n\n").encode()
